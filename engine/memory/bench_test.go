package memory

import (
	"testing"
)

// BenchmarkEmulateRead4 is one 4-byte read through a Master into an
// Emulate: the synchronous path, which must not allocate.
func BenchmarkEmulateRead4(b *testing.B) {
	m := NewMaster(NewEmulate(4, 4096))
	defer m.Close()
	p := make([]byte, 4)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Read(0x100, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAsyncRead4096 is one 4096-byte read completed on another
// goroutine, with a timer armed: the path a protocol slave takes.
func BenchmarkAsyncRead4096(b *testing.B) {
	s := newAsyncSlave(b, nil)
	m := NewMaster(s)
	defer m.Close()
	p := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Read(0x100, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHubSplitWrite is a 16 KiB write split into four.
func BenchmarkHubSplitWrite(b *testing.B) {
	h := NewHub(0x1000, 0, 0)
	h.SetSlave(&recordlessSlave{NewEmulate(4, 4096)})
	m := NewMaster(h)
	defer m.Close()
	p := make([]byte, 16384)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Write(0, p); err != nil {
			b.Fatal(err)
		}
	}
}

type recordlessSlave struct{ *Emulate }

func (r *recordlessSlave) MaxAccess() uint32 { return 4096 }
