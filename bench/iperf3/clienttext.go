package iperf3

import (
	"fmt"
	"strings"
)

// This file renders a client's test as iperf3's text output: interval
// lines while it runs, then per stream a sender and a receiver line (the
// receiver's figures from the side that received), [SUM] lines with
// several streams, and [TX-C]/[RX-C] roles and both directions' totals
// with --bidir.

// role returns the role column of a client stream line.
func role(bidir, sender bool) string {
	switch {
	case !bidir:
		return ""
	case sender:
		return "[TX-C]"
	}
	return "[RX-C]"
}

// ClientHeader is the column header of the client's interval and summary
// blocks; receiving is whether any stream receives (the header then has
// the Jitter and Lost/Total columns).
func ClientHeader(bidir, receiving bool) string {
	switch {
	case bidir:
		return "[ ID][Role] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams"
	case receiving:
		return HeaderReceiver
	}
	return HeaderSender
}

// ConnectedLines are the lines naming each stream's sockets.
func ConnectedLines(streams []ClientStream) []string {
	var out []string
	for _, s := range streams {
		out = append(out, fmt.Sprintf("%s local %s port %d connected to %s port %d", Tag(s.ID), s.Local.Addr(), s.Local.Port(), s.Remote.Addr(), s.Remote.Port()))
	}
	return out
}

// IntervalLines renders one interval of a client's test.
func IntervalLines(iv Interval, bidir bool) []string {
	var out []string
	var sums [2]IntervalStream // [0] sending, [1] receiving
	var n [2]int
	for _, s := range iv.Streams {
		k := 1
		if s.Sender {
			k = 0
		}
		out = append(out, intervalLine(s.ID, role(bidir, s.Sender), iv, s))
		sums[k].Bytes += s.Bytes
		sums[k].Packets += s.Packets
		sums[k].Lost += s.Lost
		sums[k].Jitter += s.Jitter
		sums[k].Sender = s.Sender
		n[k]++
	}
	for k := 0; k < 2; k++ {
		if n[k] > 1 {
			sums[k].Jitter /= float64(n[k])
			out = append(out, intervalLine(-1, role(bidir, k == 0), iv, sums[k]))
		}
	}
	return out
}

func intervalLine(id int, r string, iv Interval, s IntervalStream) string {
	if s.Sender {
		return LineSender(id, r, iv.Start, iv.End, s.Bytes, s.Packets, "")
	}
	return LineReceiver(id, r, iv.Start, iv.End, s.Bytes, s.Lost, s.Packets, s.Jitter, "")
}

// SummaryLines renders the end of a client's test: per stream the
// sender's and the receiver's line, then the sums per direction.
func SummaryLines(res *ClientResult) []string {
	bidir := res.Params.Bidirectional
	out := []string{Separator, ClientHeader(bidir, true)}
	for _, dir := range []bool{true, false} {
		var sumS, sumR Side
		n := 0
		for _, s := range res.Streams {
			if s.Sender != dir {
				continue
			}
			snd, rcv := s.Sides(res.Duration.Seconds())
			r := role(bidir, s.Sender)
			out = append(out, snd.line(s.ID, r, "sender"), rcv.line(s.ID, r, "receiver"))
			sumS.add(snd)
			sumR.add(rcv)
			n++
		}
		if n > 1 {
			r := role(bidir, dir)
			sumR.Jitter /= float64(n)
			out = append(out, sumS.line(-1, r, "sender"), sumR.line(-1, r, "receiver"))
		}
	}
	return out
}

// Side is one end of a stream's summary: what its sender sent or its
// receiver received.
type Side struct {
	Seconds              float64
	Bytes, Packets, Lost uint64
	Jitter               float64
	OutOfOrder           uint64
}

func (s *Side) add(o Side) {
	s.Seconds = max(s.Seconds, o.Seconds)
	s.Bytes += o.Bytes
	s.Packets += o.Packets
	s.Lost += o.Lost
	s.Jitter += o.Jitter
	s.OutOfOrder += o.OutOfOrder
}

func (s Side) line(id int, role, tag string) string {
	return LineReceiver(id, role, 0, s.Seconds, s.Bytes, s.Lost, s.Packets, s.Jitter, tag)
}

// Sides returns a stream's sender and receiver figures, each from the
// side that has them; secs is the client's test length.
func (s ClientStream) Sides(secs float64) (sender, receiver Side) {
	peerSecs := s.Peer.EndTime - s.Peer.StartTime
	if peerSecs <= 0 {
		peerSecs = secs
	}
	if s.Sender {
		sender = Side{Seconds: secs, Bytes: s.Tx.Bytes, Packets: s.Tx.Packets}
		receiver = Side{Seconds: peerSecs, Bytes: uint64(max(s.Peer.Bytes, 0)), Packets: uint64(max(s.Peer.Packets, 0)),
			Lost: uint64(max(s.Peer.Errors, 0)), Jitter: s.Peer.Jitter}
		if s.Peer.Udpperf != nil {
			receiver.OutOfOrder = s.Peer.Udpperf.OutOfOrder
		}
		return sender, receiver
	}
	sender = Side{Seconds: peerSecs, Bytes: uint64(max(s.Peer.Bytes, 0)), Packets: uint64(max(s.Peer.Packets, 0))}
	receiver = Side{Seconds: secs, Bytes: s.Rx.Bytes, Packets: s.Rx.Packets, Lost: s.Rx.Lost, Jitter: s.Rx.Jitter, OutOfOrder: s.Rx.OutOfOrder}
	return sender, receiver
}

// ServerOutputLines renders what --get-server-output brought back.
func ServerOutputLines(res *ClientResult) []string {
	if res.Server == nil {
		return nil
	}
	switch {
	case res.Server.ServerOutputText != "":
		return append([]string{"", "Server output:"}, strings.Split(strings.TrimRight(res.Server.ServerOutputText, "\n"), "\n")...)
	case len(res.Server.ServerOutputJSON) > 0:
		return []string{"", "Server JSON output:", string(res.Server.ServerOutputJSON)}
	}
	return nil
}
