package engine

import (
	"math"
	"sync"
	"testing"
	"time"
)

// passPattern feeds n frames and returns which ones passed.
func passPattern(t *testing.T, r *RateDrop, n int, between func(i int)) []bool {
	t.Helper()
	var sink BaseSlave
	Connect(r, &sink)
	f, _ := NewPool().AcceptReq(4, true)
	defer f.Release()
	out := make([]bool, n)
	for i := range n {
		if between != nil {
			between(i)
		}
		before := sink.FrameCount()
		r.AcceptFrame(f)
		out[i] = sink.FrameCount() > before
	}
	passed := 0
	for _, p := range out {
		if p {
			passed++
		}
	}
	if r.Dropped() != uint64(n-passed) {
		t.Fatalf("Dropped %d, want %d", r.Dropped(), n-passed)
	}
	return out
}

func TestRateDropCount(t *testing.T) {
	for _, c := range []struct {
		period bool
		value  float64
		every  int
	}{
		{false, 0, 1}, {false, 1, 2}, {false, 3, 4}, {false, 3.9, 4}, {true, 0, 1},
	} {
		r, err := NewRateDrop(c.period, c.value)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range passPattern(t, r, 40, nil) {
			if want := i%c.every == 0; p != want {
				t.Fatalf("period %v value %v: frame %d passed=%v, want %v", c.period, c.value, i, p, want)
			}
		}
	}
}

func TestRateDropPeriod(t *testing.T) {
	r, err := NewRateDrop(true, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	var clock time.Duration
	r.now = func() time.Duration { return clock }
	// Frame i arrives at i*100ms. The first period ends 500ms after
	// creation; each kept frame starts the next period.
	got := passPattern(t, r, 20, func(i int) { clock = time.Duration(i) * 100 * time.Millisecond })
	for i, p := range got {
		want := i == 6 || i == 12 || i == 18 // strictly after 500ms, then +600ms each
		if p != want {
			t.Fatalf("frame %d at %v: passed=%v, want %v", i, time.Duration(i)*100*time.Millisecond, p, want)
		}
	}
}

func TestRateDropRealClock(t *testing.T) {
	r, _ := NewRateDrop(true, 0.001)
	var sink BaseSlave
	Connect(r, &sink)
	f, _ := NewPool().AcceptReq(4, true)
	defer f.Release()
	deadline := time.Now().Add(10 * time.Second)
	for sink.FrameCount() < 3 && time.Now().Before(deadline) {
		r.AcceptFrame(f)
		time.Sleep(100 * time.Microsecond)
	}
	if sink.FrameCount() < 3 {
		t.Fatalf("passed %d frames in 10s with a 1ms period", sink.FrameCount())
	}
}

func TestRateDropConcurrent(t *testing.T) {
	r, _ := NewRateDrop(false, 4)
	var sink BaseSlave
	Connect(r, &sink)
	pool := NewPool()
	const workers, each = 4, 1000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			f, _ := pool.AcceptReq(4, true)
			defer f.Release()
			for range each {
				r.AcceptFrame(f)
			}
		})
	}
	wg.Wait()
	if sink.FrameCount() != workers*each/5 || r.Dropped() != workers*each*4/5 {
		t.Fatalf("passed %d dropped %d", sink.FrameCount(), r.Dropped())
	}
}

func TestRateDropInvalid(t *testing.T) {
	for _, c := range []struct {
		period bool
		value  float64
	}{
		{false, -1}, {true, -0.5}, {false, math.NaN()}, {true, math.NaN()},
		{true, math.Inf(1)}, {false, math.Inf(1)}, {false, 1e10}, {true, 1e10},
	} {
		if _, err := NewRateDrop(c.period, c.value); err == nil {
			t.Errorf("NewRateDrop(%v, %v) accepted", c.period, c.value)
		}
	}
}

func TestRateDropAfterClose(t *testing.T) {
	r, _ := NewRateDrop(false, 0)
	var sink BaseSlave
	Connect(r, &sink)
	r.Close()
	f, _ := NewPool().AcceptReq(4, true)
	defer f.Release()
	r.AcceptFrame(f)
	if sink.FrameCount() != 0 || r.Dropped() != 1 {
		t.Fatalf("passed %d dropped %d", sink.FrameCount(), r.Dropped())
	}
}
