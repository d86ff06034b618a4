package prbs

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"udpstream.dev/engine"
)

// frameBytes returns frame seq of size bytes and width-bit words.
func frameBytes(t testing.TB, seq uint32, size, width int) []byte {
	t.Helper()
	b := make([]byte, size)
	if err := Fill(b, seq, width); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckerSequenceRules(t *testing.T) {
	pool := engine.NewPool()
	c, _ := NewChecker(0)
	send := func(seq uint32) {
		feed(t, c, pool, frameBytes(t, seq, 64, 32))
	}
	type step struct {
		seq     uint32
		seqErrs uint64
	}
	for i, s := range []step{
		{5, 0},          // expected 0: anything goes
		{6, 0},          // in order
		{8, 1},          // 7 lost
		{9, 1},          // expected was reset to 8+1
		{0, 1},          // sequence 0 restarts
		{1, 1},          //
		{1, 2},          // duplicate
		{2, 2},          // expected is received+1 even after an error
		{0xffffffff, 3}, // jump
		{7, 3},          // expected wrapped to 0: resynchronises
		{8, 3},          //
	} {
		send(s.seq)
		if got := c.Stats().SeqErrors; got != s.seqErrs {
			t.Fatalf("step %d (seq %d): %d sequence errors, want %d", i, s.seq, got, s.seqErrs)
		}
	}
	if st := c.Stats(); st.Frames != 11-3 || st.Errors() != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCheckerFrameErrorField(t *testing.T) {
	pool := engine.NewPool()
	c, _ := NewChecker(32)
	f := frameOf(t, pool, frameBytes(t, 1, 48, 32))
	f.SetError(0x20)
	c.AcceptFrame(f)
	f.Release()
	if st := c.Stats(); st.FrameErrors != 1 || st.Errors() != 1 || st.Frames != 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := c.FirstError(); err == nil || !strings.Contains(err.Error(), "0x20") {
		t.Fatalf("FirstError = %v", err)
	}
	// A frame with its error field set is not looked at: the expected
	// sequence did not move, so frame 2 after frame 1 is not an error...
	feed(t, c, pool, frameBytes(t, 1, 48, 32))
	feed(t, c, pool, frameBytes(t, 2, 48, 32))
	// ...and a released frame is refused as a frame error.
	g := frameOf(t, pool, frameBytes(t, 3, 48, 32))
	g.Release()
	c.AcceptFrame(g)
	if st := c.Stats(); st.FrameErrors != 2 || st.Errors() != 2 || st.Frames != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCheckerPayloadSwitch(t *testing.T) {
	pool := engine.NewPool()
	c, _ := NewChecker(64)
	bad := frameBytes(t, 1, 640, 64)
	bad[300] ^= 4
	c.SetCheckPayload(false)
	feed(t, c, pool, bad)
	if st := c.Stats(); st.Errors() != 0 || st.Frames != 1 {
		t.Fatalf("payload checking off: %+v", st)
	}
	c.SetCheckPayload(true)
	bad = frameBytes(t, 2, 640, 64) // next in sequence, corrupt the same way
	bad[300] ^= 4
	feed(t, c, pool, bad)
	st := c.Stats()
	if st.PayloadErrors != 1 || st.Errors() != 1 {
		t.Fatalf("payload checking on: %+v", st)
	}
	err := c.FirstError()
	if !errors.Is(err, ErrPayload) || !strings.Contains(err.Error(), "word 37 ") {
		t.Fatalf("FirstError = %v, want the mismatch at word 37", err)
	}
}

// TestCheckerWidePadding flips bits that Rogue's own checker cannot see
// (the top bit of word 0 falls off the LFSR; word 1's padding is never
// read) and expects them counted.
func TestCheckerWidePadding(t *testing.T) {
	pool := engine.NewPool()
	for _, width := range []int{64, 256, 512} {
		wb := width / 8
		for _, pos := range []int{wb - 1, 4, 2*wb - 1, wb + 4} {
			c, _ := NewChecker(width)
			bad := frameBytes(t, 3, 10*wb, width)
			bad[pos] ^= 0x80
			feed(t, c, pool, bad)
			st := c.Stats()
			if st.Errors() != 1 {
				t.Fatalf("width %d, byte %d: %+v", width, pos, st)
			}
			if _, err := Verify(bad, width); err == nil {
				t.Fatalf("width %d, byte %d: Verify accepted", width, pos)
			}
		}
	}
}

// TestCheckerConcurrentStats reads the counters while frames are checked,
// for the race detector.
func TestCheckerConcurrentStats(t *testing.T) {
	pool, _ := engine.NewFixedPool(2048, 16, 0)
	c, _ := NewChecker(32)
	g, _ := NewGenerator(32)
	g.SetPool(pool)
	engine.Connect(g, c)
	const n = 2000
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				_ = c.Stats()
				_ = c.FirstError()
			}
		}
	}()
	for range n {
		if err := g.GenFrame(1472); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if st := c.Stats(); st.Frames != n || st.Errors() != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCheckerBadWidth(t *testing.T) {
	for _, w := range []int{-32, 16, 48, 544, 1024} {
		if _, err := NewChecker(w); !errors.Is(err, ErrWidth) {
			t.Fatalf("NewChecker(%d): %v", w, err)
		}
		if _, err := NewGenerator(w); !errors.Is(err, ErrWidth) {
			t.Fatalf("NewGenerator(%d): %v", w, err)
		}
		if err := Fill(make([]byte, 64), 0, w); !errors.Is(err, ErrWidth) {
			t.Fatalf("Fill width %d: %v", w, err)
		}
		if _, err := Verify(make([]byte, 64), w); !errors.Is(err, ErrWidth) {
			t.Fatalf("Verify width %d: %v", w, err)
		}
	}
}

// TestCheckerDoesNotAllocate pins the per-frame cost of frames that pass.
func TestCheckerDoesNotAllocate(t *testing.T) {
	pool, _ := engine.NewFixedPool(100, 64, 0)
	c, _ := NewChecker(32)
	data := frameBytes(t, 0, 1472, 32)
	whole := frameOf(t, engine.NewPool(), data)
	split := frameOf(t, pool, data)
	defer whole.Release()
	defer split.Release()
	for name, f := range map[string]engine.Frame{"contiguous": whole, "split": split} {
		allocs := testing.AllocsPerRun(100, func() { c.AcceptFrame(f) })
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per frame", name, allocs)
		}
	}
	if st := c.Stats(); st.Errors() != 0 {
		t.Fatalf("stats %+v, %v", st, c.FirstError())
	}
}
