package engine

import (
	"errors"
	"io"
	"math"
	"math/big"
	"testing"
	"udpstream.dev/engine/internal/poolx"
)

// The fuzz test's model computes every bound with math/big, so it cannot
// share an overflow with the code it checks.

func bigSum(xs ...int64) *big.Int {
	s := new(big.Int)
	for _, x := range xs {
		s.Add(s, big.NewInt(x))
	}
	return s
}

// within reports lo <= x <= hi.
func within(x *big.Int, lo, hi int64) bool {
	return x.Cmp(big.NewInt(lo)) >= 0 && x.Cmp(big.NewInt(hi)) <= 0
}

// fuzzPool builds the pool of one fuzz case: kind 0 is an exact-size heap
// pool, 1 a fixed-size pool, 2 a fixed-size pool with an allocation limit.
func fuzzPool(t *testing.T, kind uint8, fixed, headroom int) *Pool {
	var p *Pool
	var err error
	switch kind % 3 {
	case 0:
		p = NewPool()
		err = p.SetHeadroom(headroom)
		okHeadroom := headroom >= 0 && headroom <= MaxFrameSize
		if (err == nil) != okHeadroom {
			t.Fatalf("SetHeadroom(%d) = %v", headroom, err)
		}
	default:
		p, err = NewFixedPool(fixed, 4, headroom)
		ok := fixed > 0 && headroom >= 0 && within(bigSum(int64(fixed), int64(headroom)), 0, MaxFrameSize)
		if (err == nil) != ok {
			t.Fatalf("NewFixedPool(%d, 4, %d) = %v", fixed, headroom, err)
		}
		if err != nil {
			if !errors.Is(err, ErrFrameSize) {
				t.Fatalf("NewFixedPool error %v is not ErrFrameSize", err)
			}
			return nil
		}
		if kind%3 == 2 {
			if err := p.SetAllocLimit(8); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

// requestOK is whether AcceptReq(size) is within the documented bounds,
// and cheap is whether the fuzz test may afford to allocate it.
func requestOK(p *Pool, size int) (ok, cheap bool) {
	if size < 0 || size > MaxFrameSize {
		return false, false
	}
	fixed := p.FixedSize()
	if fixed == 0 {
		ok = within(bigSum(int64(size), int64(p.Headroom())), 0, MaxFrameSize)
		return ok, ok && size+p.Headroom() <= 1<<20
	}
	count := max(1, (int64(size)+int64(fixed)-1)/int64(fixed))
	ok = count <= MaxFrameBuffers
	return ok, ok && count <= 64 && count*int64(fixed+p.Headroom()) <= 1<<20
}

// frameStep runs one offset or size method of f, chosen by op, with the
// fuzzed arguments and checks it against the model: success exactly when
// the arguments fit, ErrFrameSize otherwise, and never a short write or
// read without an error.
func frameStep(t *testing.T, f Frame, op byte, off int64, n int, data []byte) {
	size, payload := int64(f.Size()), int64(f.Payload())
	switch op % 7 {
	case 0:
		w, err := f.WriteAt(data, off)
		if off >= 0 && within(bigSum(off, int64(len(data))), 0, size) {
			if err != nil || w != len(data) {
				t.Fatalf("WriteAt(%d bytes, %d) on size %d = %d, %v", len(data), off, size, w, err)
			}
		} else if w != 0 || !errors.Is(err, ErrFrameSize) {
			t.Fatalf("WriteAt(%d bytes, %d) on size %d = %d, %v; want 0, ErrFrameSize", len(data), off, size, w, err)
		}
	case 1:
		buf := make([]byte, len(data))
		r, err := f.ReadAt(buf, off)
		switch {
		case r < len(buf) && err == nil:
			t.Fatalf("ReadAt(%d bytes, %d) = %d without an error", len(buf), off, r)
		case off < 0 && !errors.Is(err, ErrFrameSize):
			t.Fatalf("ReadAt at %d = %v, want ErrFrameSize", off, err)
		case off >= 0 && err != nil && err != io.EOF:
			t.Fatalf("ReadAt at %d = %v", off, err)
		}
	case 2:
		checkSizeErr(t, "AdjustPayload", f.AdjustPayload(n), within(bigSum(payload, int64(n)), 0, size))
	case 3:
		checkSizeErr(t, "SetPayload", f.SetPayload(n), n >= 0 && int64(n) <= size)
	case 4:
		checkSizeErr(t, "MinPayload", f.MinPayload(n), int64(n) <= payload || int64(n) <= size)
	case 5:
		headroom := f.Headroom()
		_, err := f.PushHeader(n)
		checkSizeErr(t, "PushHeader", err, n >= 0 && n <= headroom)
	case 6:
		err := f.PullHeader(n)
		if f.BufferCount() == 1 {
			// The model covers single-buffer frames, whose first
			// buffer holds the whole payload.
			checkSizeErr(t, "PullHeader", err, n >= 0 && int64(n) <= payload)
		} else if err != nil && !errors.Is(err, ErrFrameSize) {
			t.Fatalf("PullHeader(%d) = %v", n, err)
		}
	}
}

// frameSteps runs the steps ops names (every method once when ops is
// empty) and checks after each that the pool's counters did not move:
// no method of a frame allocates or frees a buffer.
func frameSteps(t *testing.T, p *Pool, f Frame, ops []byte, off int64, n int) {
	if len(ops) == 0 {
		ops = []byte{0, 1, 2, 3, 4, 5, 6}
	}
	count, bytes := p.AllocCount(), p.AllocBytes()
	for i, op := range ops[:min(len(ops), 32)] {
		frameStep(t, f, op, off, n, ops)
		if p.AllocCount() != count || p.AllocBytes() != bytes {
			t.Fatalf("step %d (op %d) moved the pool's counters from %d/%d to %d/%d",
				i, op%7, count, bytes, p.AllocCount(), p.AllocBytes())
		}
	}
}

func checkSizeErr(t *testing.T, op string, err error, ok bool) {
	t.Helper()
	if ok && err != nil {
		t.Fatalf("%s: %v, want success", op, err)
	}
	if !ok && !errors.Is(err, ErrFrameSize) {
		t.Fatalf("%s: %v, want ErrFrameSize", op, err)
	}
}

// checkFrameOn cuts a window out of a fresh buffer of a fixed-size pool.
func checkFrameOn(t *testing.T, p *Pool, off, n int) {
	b, err := p.allocBuffer()
	if errors.Is(err, ErrPoolExhausted) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	mem := int64(len(b.Mem))
	f, err := p.frameOn(b, off, n)
	checkSizeErr(t, "FrameOn", err, off >= 0 && n >= 0 && within(bigSum(int64(off), int64(n)), 0, mem))
	if err == nil {
		f.Release()
	}
	f, err = p.frameOnWindows([]poolx.Window{{Buf: b, Off: off, Len: n}})
	checkSizeErr(t, "FrameOnWindows", err, off >= 0 && n >= 0 && within(bigSum(int64(off), int64(n)), 0, mem))
	if err == nil {
		f.Release()
	}
}

// FuzzPoolSizes drives a pool of each kind with arbitrary sizes, offsets
// and sequences of frame operations (ops, also the data written): nothing
// may panic, every request beyond the documented bounds
// fails with ErrFrameSize before anything is counted, and AllocCount and
// AllocBytes return to 0 once every frame is released.
func FuzzPoolSizes(f *testing.F) {
	f.Add(uint8(1), 1000, 0, 100, int64(math.MaxInt64-2), 5, []byte("abc"))
	f.Add(uint8(1), 1000, 0, math.MaxInt, int64(0), 0, []byte{})
	f.Add(uint8(0), 0, 0, math.MaxInt, int64(0), 0, []byte{})
	f.Add(uint8(0), 0, 0, 1<<50, int64(0), 0, []byte{})
	f.Add(uint8(0), 0, 64, MaxFrameSize, int64(0), 0, []byte{})
	f.Add(uint8(1), 1024, 0, 1<<40, int64(0), 0, []byte{})
	f.Add(uint8(2), 1, 0, MaxFrameSize, int64(0), 0, []byte{})
	f.Add(uint8(1), math.MaxInt, math.MaxInt, 10, int64(0), 0, []byte{})
	f.Add(uint8(1), 256, 32, 600, int64(100), -math.MaxInt, []byte("xyz"))
	f.Add(uint8(0), 0, 16, 100, int64(-1), math.MaxInt, []byte("hello"))
	f.Add(uint8(2), 64, 0, 300, int64(math.MaxInt64), math.MinInt, []byte("x"))
	f.Add(uint8(1), 512, 0, 10, int64(0), math.MaxInt, []byte{1})
	f.Fuzz(func(t *testing.T, kind uint8, fixed, headroom, size int, off int64, n int, ops []byte) {
		p := fuzzPool(t, kind, fixed, headroom)
		if p == nil {
			return
		}
		ok, cheap := requestOK(p, size)
		if ok && !cheap {
			return // valid, but too much memory for a fuzz iteration
		}
		fr, err := p.AcceptReq(size, true)
		switch {
		case !ok && !errors.Is(err, ErrFrameSize):
			t.Fatalf("AcceptReq(%d) = %v, want ErrFrameSize", size, err)
		case ok && err != nil && !errors.Is(err, ErrPoolExhausted):
			t.Fatalf("AcceptReq(%d): %v", size, err)
		case err == nil && fr.Size() < size:
			t.Fatalf("AcceptReq(%d) gave a frame of %d bytes", size, fr.Size())
		}
		if err != nil && (p.AllocCount() != 0 || p.AllocBytes() != 0) {
			t.Fatalf("failed AcceptReq(%d) left %d buffers, %d bytes counted", size, p.AllocCount(), p.AllocBytes())
		}
		if err == nil {
			frameSteps(t, p, fr, ops, off, n)
			if err := fr.Release(); err != nil {
				t.Fatal(err)
			}
		}
		if p.FixedSize() > 0 {
			checkFrameOn(t, p, int(off), n)
		}
		if p.AllocCount() != 0 || p.AllocBytes() != 0 {
			t.Fatalf("after every release: %d buffers, %d bytes still counted", p.AllocCount(), p.AllocBytes())
		}
	})
}

func TestPoolSettingsBeyondBounds(t *testing.T) {
	var p Pool
	for _, err := range []error{
		p.SetPoolSize(MaxPoolSize + 1),
		p.SetPoolSize(math.MaxInt),
		p.SetFixedSize(MaxFrameSize + 1),
		p.SetHeadroom(math.MaxInt),
	} {
		if !errors.Is(err, ErrFrameSize) {
			t.Errorf("setting beyond the bounds: %v, want ErrFrameSize", err)
		}
	}
	if err := p.SetFixedSize(MaxFrameSize - 64); err != nil {
		t.Fatal(err)
	}
	if err := p.SetHeadroom(128); !errors.Is(err, ErrFrameSize) {
		t.Errorf("headroom pushing the buffer past MaxFrameSize: %v", err)
	}
	if _, err := newRegionPool(make([]byte, 4096), MaxFrameSize+1, 0); !errors.Is(err, ErrFrameSize) {
		t.Errorf("newRegionPool with a buffer beyond MaxFrameSize: %v", err)
	}
}
