package engine

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"udpstream.dev/engine/internal/poolx"
)

// regionPool makes a region pool over a Go-allocated region of n buffers.
func regionPool(t testing.TB, n, size, headroom int) (*Pool, []byte) {
	t.Helper()
	region := make([]byte, n*size)
	p, err := newRegionPool(region, size, headroom)
	if err != nil {
		t.Fatal(err)
	}
	return p, region
}

// TestFrameOnWindows: three windows of three buffers make one frame of
// three segments whose payload reads back in order, whose headroom is the
// first window's, and which returns every buffer when released.
func TestFrameOnWindows(t *testing.T) {
	p, _ := regionPool(t, 8, 4096, 256)
	var bufs []*poolx.Buffer
	for i := range 3 {
		b, err := p.allocBuffer()
		if err != nil {
			t.Fatal(err)
		}
		for j := range b.Memory() {
			b.Memory()[j] = byte(i*50 + j%50)
		}
		bufs = append(bufs, b)
	}
	ws := []poolx.Window{
		{Buf: bufs[0], Off: 298, Len: 4096 - 298, Headroom: 298},
		{Buf: bufs[1], Off: 256, Len: 3840},
		{Buf: bufs[2], Off: 256, Len: 100},
	}
	f, err := p.frameOnWindows(ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bufs {
		b.Release() // the frame holds them now
	}
	if f.BufferCount() != 3 || f.Payload() != 3798+3840+100 || f.Size() != f.Payload() || f.Headroom() != 298 {
		t.Fatalf("frame: %d buffers, payload %d, size %d, headroom %d", f.BufferCount(), f.Payload(), f.Size(), f.Headroom())
	}
	got := make([]byte, f.Payload())
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i, w := range ws {
		for j := w.Off; j < w.Off+w.Len; j++ {
			want = append(want, byte(i*50+j%50))
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatal("payload does not follow the windows")
	}
	hdr, err := f.PushHeader(42)
	if err != nil || len(hdr) != 42 || f.Payload() != len(want)+42 {
		t.Fatalf("PushHeader: %v", err)
	}
	if p.AllocCount() != 3 {
		t.Fatalf("%d buffers out, want 3", p.AllocCount())
	}
	f.Release()
	if p.AllocCount() != 0 {
		t.Fatalf("%d buffers out after release", p.AllocCount())
	}
}

// TestFrameOnWindowsRejects: bad windows fail without taking references.
func TestFrameOnWindowsRejects(t *testing.T) {
	p, _ := regionPool(t, 4, 4096, 256)
	b, err := p.allocBuffer()
	if err != nil {
		t.Fatal(err)
	}
	free, _ := p.bufferAt(4096) // never allocated
	for name, ws := range map[string][]poolx.Window{
		"none":       nil,
		"nil buffer": {{Off: 0, Len: 1}},
		"free":       {{Buf: free, Off: 0, Len: 10}},
		"past end":   {{Buf: b, Off: 4000, Len: 100}},
		"negative":   {{Buf: b, Off: -1, Len: 10}},
		"headroom":   {{Buf: b, Off: 10, Len: 10, Headroom: 11}},
		"second bad": {{Buf: b, Off: 0, Len: 10}, {Buf: b, Off: 4090, Len: 10}},
	} {
		if f, err := p.frameOnWindows(ws); err == nil {
			f.Release()
			t.Errorf("%s: accepted", name)
		}
	}
	if !b.SoleOwner() {
		t.Fatal("a refused window kept a reference")
	}
	b.Release()
}

// TestRetire: after retire, allocations fail with ErrClosed, and fn runs
// once, when the last buffer out comes back.
func TestRetire(t *testing.T) {
	p, _ := regionPool(t, 4, 4096, 256)
	f, err := p.AcceptReq(5000, true) // two buffers
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	p.retire(func() { calls.Add(1) })
	p.retire(func() { calls.Add(10) }) // a second retire changes nothing
	if _, err := p.AcceptReq(10, true); !errors.Is(err, ErrClosed) {
		t.Fatalf("AcceptReq after retire: %v", err)
	}
	if _, err := p.allocBuffer(); !errors.Is(err, ErrClosed) {
		t.Fatalf("AllocBuffer after retire: %v", err)
	}
	if calls.Load() != 0 || p.AllocCount() != 2 {
		t.Fatalf("fn ran %d times with %d buffers out", calls.Load(), p.AllocCount())
	}
	f.Release()
	if calls.Load() != 1 || p.AllocCount() != 0 {
		t.Fatalf("fn ran %d times after the last release", calls.Load())
	}

	idle, _ := regionPool(t, 2, 4096, 0)
	idle.retire(func() { calls.Add(1) })
	if calls.Load() != 2 {
		t.Fatal("fn did not run at once for an idle pool")
	}
}

// TestRetireRace: allocations racing with retire either fail or hold a
// buffer that fn waits for; fn never runs while one is out.
func TestRetireRace(t *testing.T) {
	for range 200 {
		p, _ := regionPool(t, 16, 256, 0)
		var out atomic.Int32 // buffers a goroutine holds
		var bad atomic.Bool
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					b, err := p.allocBuffer()
					if err != nil {
						return
					}
					out.Add(1)
					b.Memory()[0]++
					out.Add(-1)
					b.Release()
				}
			}()
		}
		var once atomic.Int32
		p.retire(func() {
			if out.Load() != 0 {
				bad.Store(true)
			}
			once.Add(1)
		})
		wg.Wait()
		if bad.Load() || once.Load() != 1 {
			t.Fatalf("fn ran %d times, during use %v", once.Load(), bad.Load())
		}
	}
}
