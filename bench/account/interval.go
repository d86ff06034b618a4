package account

import (
	"time"

	"udpstream.dev/bench/internal/seqtrack"
	"udpstream.dev/bench/report"
)

// meter turns cumulative counters into Interval records.
type meter struct {
	start   time.Time
	mark         // where the next interval starts
	before  mark // where the last interval started, for extend
	sender  bool // the interval describes the sending side
	Omitted bool // the intervals are the warm-up's (client -O)
}

// mark is the counters at an interval boundary.
type mark struct {
	prevT    time.Duration
	prev     Counters
	prevSent uint64
}

func NewMeter(start time.Time, sender bool) *meter {
	return &meter{start: start, sender: sender}
}

// Next returns the interval from the previous call (or start) to now.
func (m *meter) Next(now time.Time, c Counters, sent uint64) report.Interval {
	t := now.Sub(m.start)
	secs := (t - m.prevT).Seconds()
	iv := report.Interval{
		Start:   m.prevT.Seconds(),
		End:     t.Seconds(),
		Seconds: secs,
		Sender:  m.sender,
		Omitted: m.Omitted,
	}
	if m.sender {
		iv.Packets = sent - m.prevSent
		iv.Bytes = c.Bytes - m.prev.Bytes // the caller passes sent bytes here
	} else {
		iv.SentPackets = sent - m.prevSent
		iv.Packets = c.Packets - m.prev.Packets
		iv.Bytes = c.Bytes - m.prev.Bytes
		iv.LostPackets = sub(c.Missing, m.prev.Missing)
		iv.LostPercent = seqtrack.Percent(iv.LostPackets, iv.LostPackets+iv.Packets)
		iv.KernelDrops = sub(c.kernelDrops, m.prev.kernelDrops)
		iv.RingDrops = sub(c.ringDrops, m.prev.ringDrops)
		iv.PRBSErrors = sub(c.prbs, m.prev.prbs)
		iv.JitterMs = c.jitterMs
		iv.Omitted = iv.Omitted || c.warmup
	}
	iv.BitsPerSecond, iv.DatagramsPerSecond = report.Rates(iv.Bytes, iv.Packets, secs)
	m.before, m.mark = m.mark, mark{t, c, sent}
	return iv
}

// Extend returns the last interval stretched to now, for a partial
// interval too short to stand on its own.
func (m *meter) Extend(now time.Time, c Counters, sent uint64) report.Interval {
	m.mark = m.before
	return m.Next(now, c, sent)
}

// sub is a - b, or 0 when a counter went backwards (a session restarted
// the gap count with fewer gaps than before).
func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// RecordIntervals samples read every `every` (nothing when it is not
// positive) on a goroutine of its own, appending each interval to *out and
// passing it to on, if set. The returned stop ends the sampling after a
// last partial interval and waits for it; only then may *out be read.
func RecordIntervals(every time.Duration, m *meter, read func() (Counters, uint64), out *[]report.IntervalRecord, on func(report.Interval)) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	stopCh := make(chan struct{})
	done := make(chan struct{})
	go ReportIntervals(every, stopCh, done, func(short bool) {
		now := time.Now()
		c, sent := read()
		if short && len(*out) > 0 {
			// Already printed through on; the record takes the tail.
			(*out)[len(*out)-1] = report.NewIntervalRecord(m.Extend(now, c, sent))
			return
		}
		iv := m.Next(now, c, sent)
		*out = append(*out, report.NewIntervalRecord(iv))
		if on != nil {
			on(iv)
		}
	})
	return func() {
		close(stopCh)
		<-done
	}
}

// ReportIntervals calls sample every `every` until stop is closed, then
// once more for the last partial interval. That one is short when it
// lasted under a tenth of `every` (a run that ends just after a tick): a
// sampler with earlier intervals folds it into the last of them, so the
// intervals still add up to the totals without a sliver of an interval.
// It runs on its own goroutine; done is closed when it returns.
func ReportIntervals(every time.Duration, stop <-chan struct{}, done chan<- struct{}, sample func(short bool)) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-t.C:
			last = time.Now()
			sample(false)
		case <-stop:
			sample(time.Since(last) < every/10)
			return
		}
	}
}
