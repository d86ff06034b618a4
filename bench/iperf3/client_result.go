package iperf3

import (
	"net/netip"
	"time"
)

// ClientResult is one test as the client saw it, with the server's figures.
type ClientResult struct {
	Params   Params
	Duration time.Duration
	CPU      CPU
	Streams  []ClientStream
	// Server is the server's results message.
	Server    *Results
	Intervals []Interval
	// Transport the client sent with; KernelDrops what the kernel dropped
	// on its receiving sockets.
	Transport   string
	KernelDrops uint64
}

// ClientStream is one stream: the local figures and the server's.
type ClientStream struct {
	ID            int
	Sender        bool // the client sent on this stream
	Local, Remote netip.AddrPort
	Tx            TxCounts // local, when sending
	Rx            RxCounts // local, when receiving
	// Peer is the server's figures for this stream (zero when it sent none).
	Peer StreamResults
}

// results builds the client's results message.
func (c *client) results() *Results {
	r := &Results{CPUUtilTotal: c.res.CPU.Total, CPUUtilUser: c.res.CPU.User, CPUUtilSystem: c.res.CPU.System,
		SenderHasRetransmits: -1}
	secs := c.res.Duration.Seconds()
	for _, s := range c.streams {
		sr := StreamResults{ID: Num(s.id), Retransmits: -1, EndTime: secs}
		if s.sending() {
			r.SenderHasRetransmits = 0
			t := s.txCounts()
			sr.Bytes, sr.Packets = Num(t.Bytes), Num(t.Packets)
		} else {
			x := s.rx.counts()
			sr.Bytes, sr.Packets, sr.Errors, sr.Jitter = Num(x.Bytes), Num(x.Packets), Num(x.Lost), x.Jitter
			if c.cfg.Udpperf {
				sr.Udpperf = extrasOf(x)
			}
		}
		r.Streams = append(r.Streams, sr)
	}
	if c.cfg.Udpperf {
		var drops uint64
		for _, s := range c.streams {
			if s.rx != nil {
				drops += s.sock.kernelDrops()
			}
		}
		r.Udpperf = &ResultsExtras{KernelDrops: drops, Transport: c.cfg.transport()}
	}
	return r
}

// streamResults pairs each local stream with the server's figures.
func (c *client) streamResults(srv *Results) []ClientStream {
	out := make([]ClientStream, 0, len(c.streams))
	for _, s := range c.streams {
		cs := ClientStream{ID: s.id, Sender: s.sending(), Local: s.local, Remote: s.remote}
		if s.sending() {
			cs.Tx = s.txCounts()
		} else {
			cs.Rx = s.rx.counts()
		}
		for _, p := range srv.Streams {
			if int(p.ID) == s.id {
				cs.Peer = p
			}
		}
		out = append(out, cs)
	}
	return out
}

// intervals records and reports interval figures until stop closes.
func (c *client) intervals(stop <-chan struct{}) {
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	prevRx := make(map[int]RxCounts)
	prevTx := make(map[int]TxCounts)
	last := 0.0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := time.Since(c.started).Seconds()
		iv := Interval{Start: last, End: now}
		last = now
		for _, s := range c.streams {
			if s.sending() {
				t := s.txCounts()
				p := prevTx[s.id]
				iv.Streams = append(iv.Streams, IntervalStream{ID: s.id, Sender: true, Bytes: t.Bytes - p.Bytes, Packets: t.Packets - p.Packets})
				prevTx[s.id] = t
				continue
			}
			x := s.rx.counts()
			p := prevRx[s.id]
			iv.Streams = append(iv.Streams, IntervalStream{ID: s.id, Bytes: x.Bytes - p.Bytes, Packets: x.Packets - p.Packets,
				Lost: x.Lost - min(x.Lost, p.Lost), Jitter: x.Jitter})
			prevRx[s.id] = x
		}
		c.res.Intervals = append(c.res.Intervals, iv)
		if c.cfg.OnInterval != nil {
			c.cfg.OnInterval(iv)
		}
	}
}
