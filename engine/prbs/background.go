package prbs

import (
	"errors"
	"fmt"
	"time"

	"udpstream.dev/engine"
)

// ErrRunning is returned by Enable while the background generator runs.
var ErrRunning = errors.New("prbs: background generator already running")

// errBackoff is the least time the background generator waits after a
// frame that failed, so that a lasting failure (an exhausted pool, say)
// with no period set does not spin.
const errBackoff = time.Millisecond

// background is one run of the background generator.
type background struct {
	size int
	stop chan struct{} // closed by Disable
	wake chan struct{} // the period changed: recompute the wait
	done chan struct{} // closed when the goroutine has returned
}

// Enable starts the background generator (Rogue's enable): a goroutine
// that calls GenFrame(size) once per TxPeriod, or back to back when the
// period is 0 (the default). size must be a whole number of at least three
// words. Failed frames are counted in TxErrors and the generator carries
// on, waiting at least a millisecond after each; it stops only at Disable
// or Close. Enable fails with ErrRunning if it already runs (Rogue ignores
// the call; Disable first to change the size) and with engine.ErrClosed
// after Close.
func (g *Generator) Enable(size int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return engine.ErrClosed
	case g.bg != nil:
		return fmt.Errorf("%w with %d-byte frames", ErrRunning, g.bg.size)
	}
	if err := checkSize(size, g.pat.Load().wb); err != nil {
		return err
	}
	bg := &background{
		size: size,
		stop: make(chan struct{}),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	g.bg = bg
	go g.run(bg)
	return nil
}

// Enabled reports whether the background generator runs.
func (g *Generator) Enabled() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bg != nil
}

// Disable stops the background generator and waits for its goroutine to
// return (Rogue's disable); a frame being sent is finished first. It does
// nothing if the generator does not run. It must not be called from a
// slave of this generator, which runs on the goroutine it waits for.
func (g *Generator) Disable() {
	g.mu.Lock()
	bg := g.bg
	g.bg = nil
	g.mu.Unlock()
	if bg != nil {
		close(bg.stop)
		<-bg.done
	}
}

// Close stops the background generator, then the Master: later frames
// fail with engine.ErrClosed.
func (g *Generator) Close() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.Disable()
	return g.Master.Close()
}

// SetTxPeriod sets the time between the starts of two background frames,
// in microseconds (Rogue's setTxPeriod); 0 sends back to back. A change
// takes effect at once, also while the generator waits. When a frame takes
// longer than the period the next starts at once, without making up for
// lost time. (Rogue sleeps the period after each frame, so its frames are
// spaced by the period plus the time to send one.)
func (g *Generator) SetTxPeriod(usec uint32) {
	g.period.Store(usec)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bg != nil {
		select {
		case g.bg.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// TxPeriod is the background period in microseconds.
func (g *Generator) TxPeriod() uint32 { return g.period.Load() }

// run is the background generator's goroutine.
func (g *Generator) run(bg *background) {
	defer close(bg.done)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		start := time.Now()
		err := g.GenFrame(bg.size)
		if errors.Is(err, engine.ErrClosed) {
			return
		}
		var least time.Duration
		if err != nil {
			least = errBackoff
		}
		if !g.pause(bg, t, start, least) {
			return
		}
	}
}

// pause waits until one period (at least least) after start and reports
// whether to go on; false means Disable was called.
func (g *Generator) pause(bg *background, t *time.Timer, start time.Time, least time.Duration) bool {
	for {
		gap := max(time.Duration(g.period.Load())*time.Microsecond, least)
		d := time.Until(start.Add(gap))
		if d <= 0 {
			select {
			case <-bg.stop:
				return false
			default:
				return true
			}
		}
		t.Reset(d)
		select {
		case <-bg.stop:
			t.Stop()
			return false
		case <-t.C:
			return true
		case <-bg.wake:
			t.Stop() // and wait again with the new period
		}
	}
}
