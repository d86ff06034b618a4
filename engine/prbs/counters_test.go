package prbs

import (
	"errors"
	"math"
	"testing"
	"time"

	"udpstream.dev/engine"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time         { return c.t }
func (c *fakeClock) add(d time.Duration)    { c.t = c.t.Add(d) }
func useClock(m *rateMeter, clk *fakeClock) { m.now, m.last = clk.now, clk.now() }

// near reports whether got is want but for rounding.
func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*max(1, math.Abs(want)) }

func sendN(t *testing.T, g *Generator, n, size int) {
	t.Helper()
	for range n {
		if err := g.GenFrame(size); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRates drives the tx and rx rates from a fake clock: they change only
// once more than a second has passed, average over the time since the
// last change, count only frames that passed on the rx side, and fall to
// zero when nothing arrives.
func TestRates(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	g, _ := NewGenerator(32)
	c, _ := NewChecker(32)
	engine.Connect(g, c)
	useClock(&g.rates, clk)
	useClock(&c.rates, clk)
	check := func(step string, rate, bw float64) {
		t.Helper()
		if r, b := g.TxRate(), g.TxBw(); !near(r, rate) || !near(b, bw) {
			t.Fatalf("%s: tx rate %v bw %v, want %v %v", step, r, b, rate, bw)
		}
		if r, b := c.RxRate(), c.RxBw(); !near(r, rate) || !near(b, bw) {
			t.Fatalf("%s: rx rate %v bw %v, want %v %v", step, r, b, rate, bw)
		}
	}
	sendN(t, g, 10, 64)
	clk.add(time.Second)
	check("after exactly 1 s", 0, 0) // Rogue: more than a second
	clk.add(time.Second)
	check("after 2 s", 5, 320)
	sendN(t, g, 30, 100)
	clk.add(500 * time.Millisecond)
	check("0.5 s later", 5, 320)
	clk.add(time.Second)
	check("1.5 s later", 20, 2000)
	clk.add(1500 * time.Millisecond)
	check("nothing sent for 1.5 s", 0, 0)

	// Frames that fail are not in the rx rate.
	g.SetSequence(1000)
	sendN(t, g, 1, 64) // a sequence error
	sendN(t, g, 3, 64)
	clk.add(2 * time.Second)
	if r := c.RxRate(); r != 1.5 {
		t.Fatalf("rx rate %v with one of four frames failed, want 1.5", r)
	}
	if r := g.TxRate(); r != 2 {
		t.Fatalf("tx rate %v, want 2", r)
	}
}

// TestResetCount zeroes every counter, the first error and the rates of
// both halves; sequences carry on, so the next frame passes.
func TestResetCount(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	g, _ := NewGenerator(32)
	c, _ := NewChecker(32)
	engine.Connect(g, c)
	useClock(&g.rates, clk)
	useClock(&c.rates, clk)
	sendN(t, g, 5, 64)
	g.SetSequence(9) // one sequence error
	sendN(t, g, 1, 64)
	if err := g.GenFrame(13); err == nil { // one tx error
		t.Fatal("GenFrame(13) succeeded")
	}
	c.SetRxEnable(false)
	sendN(t, g, 1, 64) // one ignored
	c.SetRxEnable(true)
	clk.add(2 * time.Second)
	if g.TxRate() == 0 || c.RxRate() == 0 || c.Stats().Ignored != 1 || c.RxErrors() != 1 || g.TxErrors() != 1 {
		t.Fatalf("setup: tx %v, rx %v, %+v, tx errors %d", g.TxRate(), c.RxRate(), c.Stats(), g.TxErrors())
	}
	g.ResetCount()
	c.ResetCount()
	if g.TxCount() != 0 || g.TxBytes() != 0 || g.TxErrors() != 0 || g.TxRate() != 0 || g.TxBw() != 0 {
		t.Fatalf("generator after reset: %d %d %d %v %v", g.TxCount(), g.TxBytes(), g.TxErrors(), g.TxRate(), g.TxBw())
	}
	if st := c.Stats(); st != (CheckerStats{}) || c.FirstError() != nil || c.RxRate() != 0 || c.RxBw() != 0 {
		t.Fatalf("checker after reset: %+v, %v, %v %v", st, c.FirstError(), c.RxRate(), c.RxBw())
	}
	// The rates restart from the reset, not from the old counts.
	sendN(t, g, 4, 64)
	clk.add(2 * time.Second)
	if g.TxRate() != 2 || c.RxRate() != 2 {
		t.Fatalf("rates after reset: tx %v rx %v, want 2", g.TxRate(), c.RxRate())
	}
	if c.RxCount() != 4 || c.RxBytes() != 256 || c.RxErrors() != 0 {
		t.Fatalf("after reset: %+v, %v", c.Stats(), c.FirstError())
	}
}

// TestRxEnable: a disabled checker ignores frames, good or bad, and counts
// them only as ignored; enabled again, it starts a new sequence count.
func TestRxEnable(t *testing.T) {
	pool := engine.NewPool()
	c, _ := NewChecker(32)
	feed(t, c, pool, frameBytes(t, 1, 64, 32))
	c.SetRxEnable(false)
	if c.RxEnable() {
		t.Fatal("RxEnable after SetRxEnable(false)")
	}
	bad := frameBytes(t, 2, 64, 32)
	bad[20] ^= 1
	feed(t, c, pool, bad)
	feed(t, c, pool, frameBytes(t, 3, 64, 32))
	feed(t, c, pool, make([]byte, 5))
	if st := c.Stats(); st.Ignored != 3 || st.Frames != 1 || st.Errors() != 0 {
		t.Fatalf("disabled: %+v", st)
	}
	c.SetRxEnable(false) // again: still off, nothing else changes
	c.SetRxEnable(true)
	c.SetRxEnable(true)
	feed(t, c, pool, frameBytes(t, 40, 64, 32)) // frames 4 to 39 went by: no error
	feed(t, c, pool, frameBytes(t, 41, 64, 32))
	feed(t, c, pool, frameBytes(t, 43, 64, 32)) // but now sequences count again
	if st := c.Stats(); st.Frames != 3 || st.SeqErrors != 1 || st.Ignored != 3 {
		t.Fatalf("enabled again: %+v", st)
	}
	if !c.RxEnable() {
		t.Fatal("RxEnable false after SetRxEnable(true)")
	}
}

// TestTxErrorsCounted: every failed GenFrame or FillFrame call counts.
func TestTxErrorsCounted(t *testing.T) {
	g, _ := NewGenerator(32)
	engine.Connect(g, &failingSlave{})
	if err := g.GenFrame(64); !errors.Is(err, engine.ErrPoolExhausted) {
		t.Fatalf("GenFrame: %v", err)
	}
	g.GenFrame(63)
	f, _ := engine.NewPool().AcceptReq(10, true)
	g.FillFrame(f)
	f.Release()
	if g.TxErrors() != 3 || g.TxCount() != 0 {
		t.Fatalf("tx errors %d, count %d", g.TxErrors(), g.TxCount())
	}
}
