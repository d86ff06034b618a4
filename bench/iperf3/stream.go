package iperf3

import (
	"sync"
	"sync/atomic"
	"time"
)

// epoch is the steady clock both sides' data headers are stamped from.
// Only differences between stamps matter (jitter), so a process-local
// origin works against any peer.
var epoch = time.Now()

// stamp returns the header clock for t.
func stamp(t time.Time) (sec, usec uint32) {
	d := t.Sub(epoch)
	return uint32(d / time.Second), uint32((d % time.Second) / time.Microsecond)
}

// since returns t's place on the header clock in seconds.
func since(t time.Time) float64 { return t.Sub(epoch).Seconds() }

// RxCounts is one receiving stream's figures. Packets is iperf3's
// "packets": the highest counter seen. Lost follows iperf3's rule: a gap
// adds its size, a counter at or below the highest (out of order) takes
// one back.
type RxCounts struct {
	Bytes      uint64
	Packets    uint64 // highest counter seen
	Received   uint64 // datagrams counted
	Lost       uint64
	OutOfOrder uint64
	Malformed  uint64 // shorter than the header
	Outside    uint64 // data outside the running test (before start, after end)
	PRBSErrors uint64 // with PRBS payloads: datagrams whose payload differs
	Jitter     float64
}

// rxStream keeps a receiving stream's counts. The data reader adds
// datagrams; the session starts and stops counting and reads snapshots.
type rxStream struct {
	mu          sync.Mutex
	wide        bool
	prbs        bool // check PRBS payloads
	running     bool
	c           RxCounts
	lost        int64
	prevTransit float64
	havePrev    bool
}

// rxVerdict is what add made of a datagram.
type rxVerdict int

const (
	rxData rxVerdict = iota
	rxMalformed
	rxOutside
)

// add accounts one datagram that arrived at arrival (header clock seconds).
func (s *rxStream) add(b []byte, arrival float64) rxVerdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(b, arrival)
}

// addLocked is add with s.mu held.
func (s *rxStream) addLocked(b []byte, arrival float64) rxVerdict {
	sec, usec, count, ok := ParseHeader(b, s.wide)
	switch {
	case !ok:
		s.c.Malformed++
		return rxMalformed
	case !s.running:
		s.c.Outside++
		return rxOutside
	}
	s.c.Received++
	s.c.Bytes += uint64(len(b))
	if s.prbs && !checkPRBS(b[HeaderLen(s.wide):], count) {
		s.c.PRBSErrors++
	}
	switch {
	case count > s.c.Packets+1:
		s.lost += int64(count - s.c.Packets - 1)
		s.c.Packets = count
	case count <= s.c.Packets:
		s.c.OutOfOrder++
		if s.lost > 0 {
			s.lost--
		}
	default:
		s.c.Packets = count
	}
	transit := arrival - (float64(sec) + float64(usec)/1e6)
	if s.havePrev {
		d := transit - s.prevTransit
		if d < 0 {
			d = -d
		}
		s.c.Jitter += (d - s.c.Jitter) / 16
	}
	s.prevTransit, s.havePrev = transit, true
	return rxData
}

func (s *rxStream) setRunning(on bool) {
	s.mu.Lock()
	s.running = on
	s.mu.Unlock()
}

func (s *rxStream) counts() RxCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	if s.lost > 0 {
		c.Lost = uint64(s.lost)
	}
	return c
}

// TxCounts is one sending stream's figures.
type TxCounts struct {
	Bytes   uint64
	Packets uint64 // datagrams handed to the kernel (the last counter used)
	Errors  uint64 // failed send calls
}

// txCounters are updated by the sender goroutine and read by the session.
type txCounters struct {
	bytes, packets, errors atomic.Uint64
}

func (t *txCounters) counts() TxCounts {
	return TxCounts{Bytes: t.bytes.Load(), Packets: t.packets.Load(), Errors: t.errors.Load()}
}

// extrasOf is what a udpperf receiver reports of a stream beyond iperf3's
// figures.
func extrasOf(c RxCounts) *StreamExtras {
	return &StreamExtras{Received: c.Received, OutOfOrder: c.OutOfOrder, Malformed: c.Malformed, Outside: c.Outside, PRBSErrors: c.PRBSErrors}
}
