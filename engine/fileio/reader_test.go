package fileio

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"udpstream.dev/engine"
)

const recordBytes = HeaderSize + 1472 // a record of a.dat

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkDamage reads data and wants the frames of the first good records
// delivered and a FormatError of the given kind at the given record.
func checkDamage(t *testing.T, data []byte, good int, kind error) {
	t.Helper()
	want := loadExpected(t)
	frames, err := readFrames(t, writeTemp(t, "cut.dat", data), 0)
	if len(frames) != good {
		t.Fatalf("%d frames delivered, want %d", len(frames), good)
	}
	for i, g := range frames {
		if g.record(i) != want[i] {
			t.Fatalf("frame %d differs from Rogue's", i)
		}
	}
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, kind) {
		t.Fatalf("error %v, want a FormatError of kind %v", err, kind)
	}
	if fe.Record != good || fe.Offset != int64(good*recordBytes) {
		t.Fatalf("error at record %d byte %d, want record %d byte %d: %v", fe.Record, fe.Offset, good, good*recordBytes, err)
	}
}

// TestReadTruncated cuts a.dat inside a header, right after one, inside a
// payload and one byte short of the end.
func TestReadTruncated(t *testing.T) {
	a := readVector(t, "a.dat")
	for _, cut := range []int{1, 3, 7, 8, 100, 3*recordBytes + 4, 3*recordBytes + 8, 3*recordBytes + 108, len(a) - 1} {
		checkDamage(t, a[:cut], cut/recordBytes, ErrTruncated)
	}
	// Cut on a record boundary: a shorter, valid file.
	frames, err := readFrames(t, writeTemp(t, "short.dat", a[:7*recordBytes]), 0)
	if err != nil || len(frames) != 7 {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
	frames, err = readFrames(t, writeTemp(t, "empty.dat", nil), 0)
	if err != nil || len(frames) != 0 {
		t.Fatalf("empty file: %d frames, %v", len(frames), err)
	}
}

// TestReadCorrupt damages the header of record 5.
func TestReadCorrupt(t *testing.T) {
	a := readVector(t, "a.dat")
	for _, tc := range []struct {
		size uint32
		kind error
	}{
		{0, ErrCorrupt},
		{3, ErrCorrupt},
		{0xffffffff, ErrTruncated}, // claims more than the file holds
		{1476 + 75*1480, ErrTruncated},
	} {
		b := append([]byte(nil), a...)
		binary.LittleEndian.PutUint32(b[5*recordBytes:], tc.size)
		checkDamage(t, b, 5, tc.kind)
	}
	// An old file's tail after the records, as Rogue's writer leaves it.
	b := append(append([]byte(nil), a[:10*recordBytes]...), 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a)
	checkDamage(t, b, 10, ErrTruncated)
}

// TestReadHeaderOnlyRecord: a record with no payload is skipped and
// counted, as Rogue's reader skips it, and reading goes on.
func TestReadHeaderOnlyRecord(t *testing.T) {
	a := readVector(t, "a.dat")
	b := append([]byte(nil), a[:2*recordBytes]...)
	b = append(b, 4, 0, 0, 0, 1, 2, 3, 4)
	b = append(b, a[2*recordBytes:]...)
	r := NewStreamReader()
	c := &collector{}
	engine.Connect(r, c)
	if err := r.Open(writeTemp(t, "empty-record.dat", b)); err != nil {
		t.Fatal(err)
	}
	if err := r.CloseWait(); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Frames != 50 || s.Empty != 1 || s.Bytes != 50*1472 || s.Files != 1 {
		t.Fatalf("stats %+v", s)
	}
	if len(c.got()) != 50 {
		t.Fatalf("%d frames", len(c.got()))
	}
}

// blockingSlave holds each frame until the test lets it go.
type blockingSlave struct {
	seen chan struct{}
	gate chan struct{}
}

func (b blockingSlave) AcceptFrame(engine.Frame) {
	b.seen <- struct{}{}
	<-b.gate
}

// TestReadCloseEarly: Close stops reading after the frame in delivery and
// leaves no goroutine; the reader can be opened again.
func TestReadCloseEarly(t *testing.T) {
	r := NewStreamReader()
	s := blockingSlave{seen: make(chan struct{}, 64), gate: make(chan struct{})}
	engine.Connect(r, s)
	if err := r.Open(vectorPath(t, "a.dat")); err != nil {
		t.Fatal(err)
	}
	<-s.seen
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	r.mu.Lock()
	run := r.run
	r.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); !run.stop.Load(); {
		if time.Now().After(deadline) {
			t.Fatal("Close did not ask the reader to stop")
		}
		time.Sleep(time.Millisecond)
	}
	close(s.gate)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if n := r.Stats().Frames; n != 1 {
		t.Fatalf("%d frames delivered after an early Close", n)
	}
	if err := r.Open(filepath.Join(t.TempDir(), "missing.dat")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
	if err := r.SetRawFrameSize(-1); err == nil {
		t.Fatal("a negative raw frame size was accepted")
	}
}

// TestReadIntoClosedMaster: a reader whose master is closed stops with
// the error instead of reading on.
func TestReadIntoClosedMaster(t *testing.T) {
	r := NewStreamReader()
	r.Master.Close()
	if err := r.Open(vectorPath(t, "a.dat")); err != nil {
		t.Fatal(err)
	}
	if err := r.CloseWait(); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("CloseWait: %v, want ErrClosed", err)
	}
}
