package iperf3

import (
	"encoding/json"
)

// ClientJSON is a client's test in iperf3's -J layout (the keys a script
// reads from `iperf3 -c ... -u -J` have the same paths and meaning), plus
// a "udpperf" object with what iperf3 does not report.
type ClientJSON struct {
	Start            JSONStart       `json:"start"`
	Intervals        []JSONInterval  `json:"intervals"`
	End              JSONEnd         `json:"end"`
	ServerOutputText string          `json:"server_output_text,omitempty"`
	ServerOutputJSON json.RawMessage `json:"server_output_json,omitempty"`
	Error            string          `json:"error,omitempty"`
	Udpperf          *JSONExtras     `json:"udpperf,omitempty"`
}

// JSONStart is iperf3's "start".
type JSONStart struct {
	Connected    []JSONConnected `json:"connected"`
	Version      string          `json:"version"`
	ConnectingTo JSONHostPort    `json:"connecting_to"`
	TestStart    JSONTestStart   `json:"test_start"`
}

// JSONConnected is one stream's sockets.
type JSONConnected struct {
	Socket     int    `json:"socket"`
	LocalHost  string `json:"local_host"`
	LocalPort  int    `json:"local_port"`
	RemoteHost string `json:"remote_host"`
	RemotePort int    `json:"remote_port"`
}

// JSONHostPort is "connecting_to".
type JSONHostPort struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// JSONTestStart is "start.test_start".
type JSONTestStart struct {
	Protocol   string  `json:"protocol"`
	NumStreams int     `json:"num_streams"`
	Blksize    int     `json:"blksize"`
	Omit       int     `json:"omit"`
	Duration   int     `json:"duration"`
	Bytes      int     `json:"bytes"`
	Blocks     int     `json:"blocks"`
	Reverse    int     `json:"reverse"`
	Tos        int     `json:"tos"`
	TargetRate float64 `json:"target_bitrate"`
	Bidir      int     `json:"bidir"`
}

// JSONInterval is one entry of "intervals".
type JSONInterval struct {
	Streams []JSONSum `json:"streams"`
	Sum     JSONSum   `json:"sum"`
}

// JSONSum is a stream's or a sum's figures ("end.sum", "end.streams[].udp", ...).
type JSONSum struct {
	Socket      int     `json:"socket,omitempty"`
	Start       float64 `json:"start"`
	End         float64 `json:"end"`
	Seconds     float64 `json:"seconds"`
	Bytes       uint64  `json:"bytes"`
	BitsPerSec  float64 `json:"bits_per_second"`
	JitterMs    float64 `json:"jitter_ms"`
	LostPackets uint64  `json:"lost_packets"`
	Packets     uint64  `json:"packets"`
	LostPercent float64 `json:"lost_percent"`
	OutOfOrder  uint64  `json:"out_of_order"`
	Omitted     bool    `json:"omitted"`
	Sender      bool    `json:"sender"`
}

// JSONStream wraps a stream's figures as "end.streams[].udp".
type JSONStream struct {
	UDP JSONSum `json:"udp"`
}

// JSONEnd is iperf3's "end"; the *_bidir_reverse sums appear with --bidir.
type JSONEnd struct {
	Streams                 []JSONStream `json:"streams"`
	Sum                     JSONSum      `json:"sum"`
	SumSent                 JSONSum      `json:"sum_sent"`
	SumReceived             JSONSum      `json:"sum_received"`
	SumBidirReverse         *JSONSum     `json:"sum_bidir_reverse,omitempty"`
	SumSentBidirReverse     *JSONSum     `json:"sum_sent_bidir_reverse,omitempty"`
	SumReceivedBidirReverse *JSONSum     `json:"sum_received_bidir_reverse,omitempty"`
	CPU                     JSONCPU      `json:"cpu_utilization_percent"`
}

// JSONCPU is "end.cpu_utilization_percent": host is this side, remote the server.
type JSONCPU struct {
	HostTotal    float64 `json:"host_total"`
	HostUser     float64 `json:"host_user"`
	HostSystem   float64 `json:"host_system"`
	RemoteTotal  float64 `json:"remote_total"`
	RemoteUser   float64 `json:"remote_user"`
	RemoteSystem float64 `json:"remote_system"`
}

// JSONExtras is what udpperf adds: the receivers' own counts.
type JSONExtras struct {
	Streams []JSONStreamExtras `json:"streams"`
	// ServerKernelDrops, ClientKernelDrops: datagrams each side's kernel
	// dropped on its data sockets during the test (a udpperf server only).
	ServerKernelDrops *uint64 `json:"server_kernel_drops,omitempty"`
	ClientKernelDrops uint64  `json:"client_kernel_drops"`
	Transport         string  `json:"transport"`
}

// JSONStreamExtras is one stream's receiver counts.
type JSONStreamExtras struct {
	Socket int  `json:"socket"`
	Sender bool `json:"sender"`
	StreamExtras
}

func sideJSON(id int, s Side, sender bool) JSONSum {
	j := JSONSum{Socket: id, End: s.Seconds, Seconds: s.Seconds, Bytes: s.Bytes, BitsPerSec: rate(s.Bytes, s.Seconds),
		JitterMs: s.Jitter * 1000, LostPackets: s.Lost, Packets: s.Packets, OutOfOrder: s.OutOfOrder, Sender: sender}
	if s.Packets > 0 {
		j.LostPercent = 100 * float64(s.Lost) / float64(s.Packets)
	}
	return j
}

// JSON builds the -J document of a finished test.
func (res *ClientResult) JSON(host string, port int, version string) *ClientJSON {
	p := res.Params
	out := &ClientJSON{Start: JSONStart{Version: version, ConnectingTo: JSONHostPort{host, port},
		TestStart: JSONTestStart{Protocol: "UDP", NumStreams: int(max(p.Parallel, 1)), Blksize: int(p.Len),
			Duration: int(p.Time), TargetRate: float64(p.Bandwidth), Reverse: b2i(p.Reverse), Bidir: b2i(p.Bidirectional)}}}
	for _, s := range res.Streams {
		out.Start.Connected = append(out.Start.Connected, JSONConnected{s.ID, s.Local.Addr().String(), int(s.Local.Port()),
			s.Remote.Addr().String(), int(s.Remote.Port())})
	}
	for _, iv := range res.Intervals {
		out.Intervals = append(out.Intervals, intervalJSON(iv))
	}
	out.End = res.endJSON()
	if res.Server != nil {
		out.ServerOutputText, out.ServerOutputJSON = res.Server.ServerOutputText, res.Server.ServerOutputJSON
		out.End.CPU.RemoteTotal, out.End.CPU.RemoteUser, out.End.CPU.RemoteSystem = res.Server.CPUUtilTotal, res.Server.CPUUtilUser, res.Server.CPUUtilSystem
	}
	out.End.CPU.HostTotal, out.End.CPU.HostUser, out.End.CPU.HostSystem = res.CPU.Total, res.CPU.User, res.CPU.System
	out.Udpperf = res.extrasJSON()
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func intervalJSON(iv Interval) JSONInterval {
	var j JSONInterval
	secs := iv.End - iv.Start
	for _, s := range iv.Streams {
		e := JSONSum{Socket: s.ID, Start: iv.Start, End: iv.End, Seconds: secs, Bytes: s.Bytes, BitsPerSec: rate(s.Bytes, secs),
			JitterMs: s.Jitter * 1000, LostPackets: s.Lost, Packets: s.Packets, Sender: s.Sender}
		j.Streams = append(j.Streams, e)
		j.Sum.Bytes += s.Bytes
		j.Sum.Packets += s.Packets
		j.Sum.LostPackets += s.Lost
		j.Sum.Sender = s.Sender
	}
	j.Sum.Start, j.Sum.End, j.Sum.Seconds, j.Sum.BitsPerSec = iv.Start, iv.End, secs, rate(j.Sum.Bytes, secs)
	return j
}

// endJSON sums each direction: the client's sending streams make "sum",
// "sum_sent" and "sum_received"; with --bidir the receiving ones make the
// *_bidir_reverse sums (with -R alone, the receiving ones are the main sums).
func (res *ClientResult) endJSON() JSONEnd {
	var e JSONEnd
	secs := res.Duration.Seconds()
	type dirSum struct {
		sent, recv Side
		n          int
	}
	var dirs [2]dirSum // [0] client sends, [1] client receives
	for _, s := range res.Streams {
		snd, rcv := s.Sides(secs)
		mine := rcv
		k := 1
		if s.Sender {
			mine, k = snd, 0
			mine.Lost, mine.Jitter, mine.OutOfOrder = rcv.Lost, rcv.Jitter, rcv.OutOfOrder
		}
		e.Streams = append(e.Streams, JSONStream{UDP: sideJSON(s.ID, mine, s.Sender)})
		dirs[k].sent.add(snd)
		dirs[k].recv.add(rcv)
		dirs[k].n++
	}
	build := func(d dirSum, sender bool) (sum, sent, recv JSONSum) {
		if d.n > 0 {
			d.recv.Jitter /= float64(d.n)
		}
		sent = sideJSON(0, Side{Seconds: d.sent.Seconds, Bytes: d.sent.Bytes, Packets: d.sent.Packets}, true)
		recv = sideJSON(0, d.recv, false)
		sum = recv
		if sender {
			sum = sideJSON(0, Side{Seconds: d.sent.Seconds, Bytes: d.sent.Bytes, Packets: d.sent.Packets,
				Lost: d.recv.Lost, Jitter: d.recv.Jitter}, true)
		}
		return sum, sent, recv
	}
	main, rev := 0, 1
	if res.Params.Reverse {
		main = 1
	}
	e.Sum, e.SumSent, e.SumReceived = build(dirs[main], main == 0)
	if res.Params.Bidirectional {
		s, t, r := build(dirs[rev], false)
		e.SumBidirReverse, e.SumSentBidirReverse, e.SumReceivedBidirReverse = &s, &t, &r
	}
	return e
}

func (res *ClientResult) extrasJSON() *JSONExtras {
	x := &JSONExtras{Transport: res.Transport, ClientKernelDrops: res.KernelDrops}
	if res.Server != nil && res.Server.Udpperf != nil {
		d := res.Server.Udpperf.KernelDrops
		x.ServerKernelDrops = &d
	}
	for _, s := range res.Streams {
		e := JSONStreamExtras{Socket: s.ID, Sender: s.Sender}
		switch {
		case !s.Sender:
			e.StreamExtras = *extrasOf(s.Rx)
		case s.Peer.Udpperf != nil:
			e.StreamExtras = *s.Peer.Udpperf
		default:
			continue // an iperf3 server reports nothing more
		}
		x.Streams = append(x.Streams, e)
	}
	return x
}
