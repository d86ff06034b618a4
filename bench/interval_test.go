package bench

import (
	"testing"
	"time"
)

// A test that ends just after a tick still reports its last partial
// interval, so the intervals add up to the totals: with an interval of an
// hour and an immediate stop, the only interval is the partial one.
func TestReportIntervalsKeepsAShortLastInterval(t *testing.T) {
	stop, done := make(chan struct{}), make(chan struct{})
	n := 0
	go reportIntervals(time.Hour, stop, done, func() { n++ })
	close(stop)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reportIntervals did not return after stop")
	}
	if n != 1 {
		t.Fatalf("%d samples after an immediate stop, want 1 (the partial interval)", n)
	}
}
