package prbs

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"udpstream.dev/engine"
)

// waitFor polls cond every millisecond until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// TestBackgroundPeriod runs the background generator at a 1 ms period for
// about 200 ms. It can send at most one frame per period plus the first,
// and on a loaded machine at least a tenth of that; every frame reaches
// the checker intact.
func TestBackgroundPeriod(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, _ := NewGenerator(32)
	c, _ := NewChecker(32)
	engine.Connect(g, c)
	g.SetTxPeriod(1000)
	if g.TxPeriod() != 1000 {
		t.Fatalf("TxPeriod %d", g.TxPeriod())
	}
	start := time.Now()
	if err := g.Enable(1472); err != nil {
		t.Fatal(err)
	}
	if !g.Enabled() {
		t.Fatal("not enabled")
	}
	run := 200 * time.Millisecond
	if testing.Short() {
		run = 50 * time.Millisecond // short: a shorter run; the bounds scale with it
	}
	time.Sleep(run)
	g.Disable()
	elapsed := time.Since(start)
	n := g.TxCount()
	most := uint64(elapsed/time.Millisecond) + 1
	least := most / 10
	if n < least || n > most {
		t.Fatalf("%d frames in %v at a 1 ms period, want %d to %d", n, elapsed, least, most)
	}
	if st := c.Stats(); st.Frames != n || st.Errors() != 0 || g.TxErrors() != 0 {
		t.Fatalf("checker %+v, %v; tx errors %d", st, c.FirstError(), g.TxErrors())
	}
	if g.Enabled() {
		t.Fatal("still enabled after Disable")
	}
	// Stopped means stopped.
	time.Sleep(20 * time.Millisecond)
	if g.TxCount() != n {
		t.Fatalf("%d frames sent after Disable", g.TxCount()-n)
	}
}

// TestBackgroundBackToBack: with no period the generator sends as fast as
// it can, and Close stops it.
func TestBackgroundBackToBack(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pool, _ := engine.NewFixedPool(1472, 64, 0)
	g, _ := NewGenerator(32)
	g.SetPool(pool)
	c, _ := NewChecker(32)
	engine.Connect(g, c)
	if err := g.Enable(1472); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return c.RxCount() >= 2000 }) {
		t.Fatalf("only %d frames in 10 s", c.RxCount())
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Frames != g.TxCount() || st.Errors() != 0 {
		t.Fatalf("sent %d, checker %+v, %v", g.TxCount(), st, c.FirstError())
	}
	if err := g.Enable(1472); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Enable after Close: %v", err)
	}
	if pool.AllocCount() != 0 {
		t.Fatalf("%d buffers not returned", pool.AllocCount())
	}
}

func TestBackgroundBadCalls(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, _ := NewGenerator(64)
	engine.Connect(g, &engine.BaseSlave{})
	defer g.Close()
	for _, size := range []int{0, 16, 100} {
		if err := g.Enable(size); !errors.Is(err, ErrSize) {
			t.Fatalf("Enable(%d): %v", size, err)
		}
	}
	if g.Enabled() {
		t.Fatal("enabled by a refused call")
	}
	g.SetTxPeriod(100000)
	if err := g.Enable(64); err != nil {
		t.Fatal(err)
	}
	if err := g.Enable(128); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Enable: %v", err)
	}
	// 64 bytes is one word at width 512: the running size forbids it.
	if err := g.SetWidth(512); !errors.Is(err, ErrSize) || g.Width() != 64 {
		t.Fatalf("SetWidth(512) while running 64-byte frames: %v, width %d", err, g.Width())
	}
	if err := g.SetWidth(128); err != nil {
		t.Fatal(err)
	}
	g.Disable()
	g.Disable() // twice is harmless
}

// failingSlave refuses every frame request.
type failingSlave struct{ asked atomic.Int64 }

func (s *failingSlave) AcceptFrame(engine.Frame) {}
func (s *failingSlave) AcceptReq(int, bool) (engine.Frame, error) {
	s.asked.Add(1)
	return engine.Frame{}, engine.ErrPoolExhausted
}

// TestBackgroundCountsFailures: frames that cannot be had are counted as
// tx errors, at most one per millisecond even with no period, and the
// generator carries on.
func TestBackgroundCountsFailures(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, _ := NewGenerator(32)
	s := &failingSlave{}
	engine.Connect(g, s)
	start := time.Now()
	if err := g.Enable(64); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return g.TxErrors() >= 5 }) {
		t.Fatalf("%d tx errors in 10 s", g.TxErrors())
	}
	g.Disable()
	elapsed := time.Since(start)
	if most := uint64(elapsed/errBackoff) + 1; g.TxErrors() > most {
		t.Fatalf("%d failures in %v: not backing off", g.TxErrors(), elapsed)
	}
	if g.TxCount() != 0 || uint64(s.asked.Load()) != g.TxErrors() {
		t.Fatalf("tx %d, errors %d, requests %d", g.TxCount(), g.TxErrors(), s.asked.Load())
	}
}

// TestSetTxPeriodWakes: a shorter period takes effect during a long wait,
// and Disable does not wait for a long period to end.
func TestSetTxPeriodWakes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, _ := NewGenerator(32)
	engine.Connect(g, &engine.BaseSlave{})
	defer g.Close()
	const hour = 3600 * 1000 * 1000
	g.SetTxPeriod(hour)
	if err := g.Enable(64); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return g.TxCount() == 1 }) {
		t.Fatal("first frame not sent at once")
	}
	time.Sleep(20 * time.Millisecond)
	if g.TxCount() != 1 {
		t.Fatalf("%d frames within an hour's period", g.TxCount())
	}
	g.SetTxPeriod(1000)
	if !waitFor(10*time.Second, func() bool { return g.TxCount() >= 10 }) {
		t.Fatalf("period change ignored: %d frames", g.TxCount())
	}
	g.SetTxPeriod(hour)
	time.Sleep(5 * time.Millisecond)
	start := time.Now()
	g.Disable()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Disable took %v during a long period", d)
	}
}

// TestSettingsWhileRunning changes every setting of both halves while the
// background generator runs, for the race detector, then expects frames
// to pass again once both halves agree.
func TestSettingsWhileRunning(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	g, _ := NewGenerator(32)
	c, _ := NewChecker(32)
	engine.Connect(g, c)
	if err := g.Enable(1536); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		width := []int{32, 64, 128}[i%3]
		taps := [][]int{DefaultTaps, {3, 31}, {1, 63}}[i%3]
		for _, x := range []interface {
			SetWidth(int) error
			SetTaps([]int) error
			ResetCount()
		}{g, c} {
			x.SetTaps(DefaultTaps) // so that any width takes
			if err := x.SetWidth(width); err != nil {
				t.Fatal(err)
			}
			if err := x.SetTaps(taps); err != nil {
				t.Fatal(err)
			}
			if i%7 == 0 {
				x.ResetCount()
			}
		}
		g.SetGenPayload(i%5 != 0)
		g.SetSendCount(i%11 == 0)
		c.SetCheckPayload(i%2 == 0)
		c.SetRxEnable(i%13 != 0)
		g.SetTxPeriod(uint32(i % 3))
		_, _, _, _ = g.TxRate(), g.TxBw(), c.RxRate(), c.RxBw()
		_ = c.Stats()
	}
	g.SetGenPayload(true)
	g.SetSendCount(false)
	c.SetCheckPayload(true)
	c.SetRxEnable(true)
	time.Sleep(5 * time.Millisecond) // frames started before now may mismatch
	c.ResetCount()
	before := c.RxCount()
	if !waitFor(10*time.Second, func() bool { return c.RxCount() >= before+100 }) {
		t.Fatalf("frames stopped passing: %+v, %v", c.Stats(), c.FirstError())
	}
	g.Disable()
	if st := c.Stats(); st.Errors() > 1 {
		t.Fatalf("settled settings still fail: %+v, %v", st, c.FirstError())
	}
}
