package iperf3

// SessionJSON is a server's test in the layout of iperf3 -s -J (start,
// end.streams[].udp, end.sum_received / end.sum_sent), with udpperf's
// session outcome and counters under "udpperf".
type SessionJSON struct {
	Start struct {
		AcceptedConnection JSONHostPort    `json:"accepted_connection"`
		Connected          []JSONConnected `json:"connected"`
		TestStart          JSONTestStart   `json:"test_start"`
	} `json:"start"`
	End struct {
		Streams     []JSONStream `json:"streams"`
		SumReceived *JSONSum     `json:"sum_received,omitempty"`
		SumSent     *JSONSum     `json:"sum_sent,omitempty"`
		CPU         JSONCPU      `json:"cpu_utilization_percent"`
	} `json:"end"`
	Error   string            `json:"error,omitempty"`
	Udpperf SessionJSONExtras `json:"udpperf"`
}

// SessionJSONExtras: how the session ended, its streams' own counts
// and the port's counters.
type SessionJSONExtras struct {
	Test    uint64                `json:"test"`
	End     string                `json:"end"`
	Streams []SessionStreamExtras `json:"streams"`
	Port    PortCounters          `json:"port"`
}

// SessionStreamExtras is one stream's server-side counts.
type SessionStreamExtras struct {
	Socket  int    `json:"socket"`
	Sender  bool   `json:"sender"`
	Vouched bool   `json:"vouched"`
	Sent    uint64 `json:"client_sent"`
	Gaps    uint64 `json:"unvouched_gaps"`
	StreamExtras
}

// JSON builds the session's document.
func (r *SessionReport) JSON() *SessionJSON {
	j := &SessionJSON{}
	p := r.Params
	j.Start.AcceptedConnection = JSONHostPort{r.Client.Addr().String(), int(r.Client.Port())}
	j.Start.TestStart = JSONTestStart{Protocol: "UDP", NumStreams: int(max(p.Parallel, 1)), Blksize: int(p.Len),
		Duration: int(p.Time), TargetRate: float64(p.Bandwidth), Reverse: b2i(p.Reverse), Bidir: b2i(p.Bidirectional)}
	secs := r.Duration.Seconds()
	var recv, sent Side
	var nrecv, nsent int
	for _, s := range r.Streams {
		j.Start.Connected = append(j.Start.Connected, JSONConnected{Socket: s.ID, RemoteHost: s.Client.Addr().String(), RemotePort: int(s.Client.Port())})
		x := SessionStreamExtras{Socket: s.ID, Sender: s.Sender, Vouched: s.Vouched, Sent: s.Sent, Gaps: s.Gaps}
		var side Side
		if s.Sender {
			side = Side{Seconds: secs, Bytes: s.Tx.Bytes, Packets: s.Tx.Packets}
			sent.add(side)
			nsent++
		} else {
			side = Side{Seconds: secs, Bytes: s.Rx.Bytes, Packets: s.Rx.Packets, Lost: s.Rx.Lost, Jitter: s.Rx.Jitter, OutOfOrder: s.Rx.OutOfOrder}
			x.StreamExtras = *extrasOf(s.Rx)
			recv.add(side)
			nrecv++
		}
		j.End.Streams = append(j.End.Streams, JSONStream{UDP: sideJSON(s.ID, side, s.Sender)})
		j.Udpperf.Streams = append(j.Udpperf.Streams, x)
	}
	if nrecv > 0 {
		recv.Jitter /= float64(nrecv)
		s := sideJSON(0, recv, false)
		j.End.SumReceived = &s
	}
	if nsent > 0 {
		s := sideJSON(0, sent, true)
		j.End.SumSent = &s
	}
	j.End.CPU = JSONCPU{HostTotal: r.CPU.Total, HostUser: r.CPU.User, HostSystem: r.CPU.System}
	if r.Peer != nil {
		j.End.CPU.RemoteTotal, j.End.CPU.RemoteUser, j.End.CPU.RemoteSystem = r.Peer.CPUUtilTotal, r.Peer.CPUUtilUser, r.Peer.CPUUtilSystem
	}
	if r.End != EndDone {
		j.Error = r.End
	}
	j.Udpperf.Test, j.Udpperf.End, j.Udpperf.Port = r.ID, r.End, r.Port
	return j
}
