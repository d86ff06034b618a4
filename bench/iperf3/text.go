package iperf3

import (
	"fmt"
	"strings"
	"time"
)

// FormatBytes writes a byte count as iperf3 does ("1.22 MBytes", base 1024).
func FormatBytes(b float64) string {
	units := []string{"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return fmtUnit(b) + " " + units[i]
}

// FormatBits writes a rate in bit/s as iperf3 does ("10.2 Mbits/sec", base 1000).
func FormatBits(bps float64) string {
	units := []string{"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec", "Tbits/sec"}
	i := 0
	for bps >= 1000 && i < len(units)-1 {
		bps /= 1000
		i++
	}
	return fmtUnit(bps) + " " + units[i]
}

func fmtUnit(v float64) string {
	switch {
	case v < 9.995:
		return fmt.Sprintf("%4.2f", v)
	case v < 99.95:
		return fmt.Sprintf("%4.1f", v)
	}
	return fmt.Sprintf("%4.0f", v)
}

// Column headers of iperf3's UDP lines.
const (
	HeaderSender   = "[ ID] Interval           Transfer     Bitrate         Total Datagrams"
	HeaderReceiver = "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams"
	Separator      = "- - - - - - - - - - - - - - - - - - - - - - - - -"
)

// Tag is a line's first column: "[  5]" for a stream, "[SUM]" for a sum.
func Tag(id int) string {
	if id < 0 {
		return "[SUM]"
	}
	return fmt.Sprintf("[%3d]", id)
}

// LineReceiver is a receiver's line: transfer, rate, jitter, lost/total.
// tag is "", "receiver" or "sender"; role is "" or "[RX-C]"-style.
func LineReceiver(id int, role string, start, end float64, bytes, lost, total uint64, jitter float64, tag string) string {
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(lost) / float64(total)
	}
	return fmt.Sprintf("%s%s %6.2f-%-6.2f sec  %s  %s  %5.3f ms  %d/%d (%.2g%%)  %s", Tag(id), role, start, end,
		FormatBytes(float64(bytes)), FormatBits(rate(bytes, end-start)), jitter*1000, lost, total, pct, tag)
}

// LineSender is a sender's interval line: transfer, rate, datagrams.
func LineSender(id int, role string, start, end float64, bytes, packets uint64, tag string) string {
	return fmt.Sprintf("%s%s %6.2f-%-6.2f sec  %s  %s  %d  %s", Tag(id), role, start, end,
		FormatBytes(float64(bytes)), FormatBits(rate(bytes, end-start)), packets, tag)
}

func rate(bytes uint64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(bytes) * 8 / secs
}

// acceptedText opens the server's text output of a test.
func (ss *session) acceptedText() {
	local := ss.conn.LocalAddr().String()
	host := local[:strings.LastIndexByte(local, ':')]
	fmt.Fprintf(&ss.text, "Accepted connection from %s, port %d\n", ss.peer.Addr(), ss.peer.Port())
	for i, a := range ss.addrs {
		fmt.Fprintf(&ss.text, "[%3d] local %s port %d connected to %s port %d\n", StreamID(i),
			strings.Trim(host, "[]"), ss.srv.Port(), a.Addr(), a.Port())
	}
}

// intervals reports every Interval until stop closes.
func (ss *session) intervals(stop <-chan struct{}) {
	every := ss.srv.cfg.Interval
	tick := time.NewTicker(every)
	defer tick.Stop()
	prevRx := make([]RxCounts, len(ss.rx))
	prevTx := make([]TxCounts, len(ss.tx))
	last := 0.0
	for n := 1; ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := time.Since(ss.started).Seconds()
		iv := Interval{Start: last, End: now}
		last = now
		for i, r := range ss.rx {
			c := r.counts()
			iv.Streams = append(iv.Streams, IntervalStream{ID: StreamID(i), Bytes: c.Bytes - prevRx[i].Bytes,
				Packets: c.Packets - prevRx[i].Packets, Lost: c.Lost - min(c.Lost, prevRx[i].Lost), Jitter: c.Jitter})
			prevRx[i] = c
		}
		for j, s := range ss.tx {
			t := s.tx.counts()
			iv.Streams = append(iv.Streams, IntervalStream{ID: StreamID(len(ss.rx) + j), Sender: true,
				Bytes: t.Bytes - prevTx[j].Bytes, Packets: t.Packets - prevTx[j].Packets})
			prevTx[j] = t
		}
		ss.intervalText(iv, n == 1)
		if f := ss.srv.cfg.OnInterval; f != nil {
			f(&ss.report, iv)
		}
	}
}

func (ss *session) intervalText(iv Interval, first bool) {
	bidir := len(ss.rx) > 0 && len(ss.tx) > 0
	if first && !bidir {
		if len(ss.rx) > 0 {
			fmt.Fprintln(&ss.text, HeaderReceiver)
		} else {
			fmt.Fprintln(&ss.text, HeaderSender)
		}
	}
	for _, l := range ServerIntervalLines(iv, bidir) {
		fmt.Fprintln(&ss.text, l)
	}
}

// summaryText ends the server's text output with its final lines, taken
// at TEST_END as iperf3 does (before the client's results).
func (ss *session) summaryText() {
	secs := ss.elapsed.Seconds()
	bidir := len(ss.rx) > 0 && len(ss.tx) > 0
	fmt.Fprintln(&ss.text, Separator)
	fmt.Fprintln(&ss.text, HeaderReceiver)
	for i, r := range ss.rx {
		c := r.counts()
		label := ""
		if bidir {
			label = "[RX-S]"
		}
		fmt.Fprintln(&ss.text, LineReceiver(StreamID(i), label, 0, secs, c.Bytes, c.Lost, c.Packets, c.Jitter, "receiver"))
	}
	for j, s := range ss.tx {
		t := s.tx.counts()
		label := ""
		if bidir {
			label = "[TX-S]"
		}
		fmt.Fprintln(&ss.text, LineReceiver(StreamID(len(ss.rx)+j), label, 0, secs, t.Bytes, 0, t.Packets, 0, "sender"))
	}
}
