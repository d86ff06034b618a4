package iperf3

import (
	"fmt"
	"io"
)

// exchangeResults: EXCHANGE_RESULTS, the client's results, ours,
// DISPLAY_RESULTS, then the client's IPERF_DONE.
func (ss *session) exchangeResults() error {
	if err := WriteState(ss.conn, ExchangeResults); err != nil {
		return err
	}
	var body []byte
	err := ss.read(func() (err error) { body, err = ReadJSONBytes(ss.conn, MaxResultsLen); return err })
	if err != nil {
		return fmt.Errorf("client results: %w", err)
	}
	peer, err := ParseResults(body)
	if err != nil {
		return err
	}
	ss.report.Peer = peer
	ss.vouch(peer)
	if err := WriteJSON(ss.conn, ss.results(peer)); err != nil {
		return err
	}
	if err := WriteState(ss.conn, DisplayResults); err != nil {
		return err
	}
	var st State
	err = ss.read(func() (err error) { st, err = ReadState(ss.conn); return err })
	switch {
	case err == io.EOF:
		return nil // the client has what it needs; iperf3 would complain here
	case err != nil:
		return err
	case st != IperfDone:
		return protoErr("%v instead of IPERF_DONE", st)
	}
	return nil
}

// vouch takes each receiving stream's sent count from the client's
// results: datagrams lost at the end of the test (after the highest
// counter the server saw) then count as lost, and packets is what was sent.
func (ss *session) vouch(peer *Results) {
	for i, r := range ss.rx {
		id := Num(StreamID(i))
		for _, ps := range peer.Streams {
			if ps.ID != id || ps.Packets < 0 {
				continue
			}
			ss.sent = append(ss.sent, vouched{rx: r, sent: uint64(ps.Packets)})
		}
	}
}

// vouched is a receiving stream's sent count as the client reported it.
type vouched struct {
	rx   *rxStream
	sent uint64
}

// rxFinal is a receiving stream's final counts, with the client's sent
// count applied when it is known.
func (ss *session) rxFinal(r *rxStream) (RxCounts, uint64, bool) {
	c := r.counts()
	for _, v := range ss.sent {
		if v.rx == r && v.sent >= c.Received {
			if v.sent > c.Packets {
				c.Packets = v.sent
			}
			c.Lost = v.sent - c.Received
			return c, v.sent, true
		}
	}
	return c, 0, false
}

// results builds the server's results message.
func (ss *session) results(peer *Results) *Results {
	res := &Results{
		CPUUtilTotal: ss.cpuUsed.Total, CPUUtilUser: ss.cpuUsed.User, CPUUtilSystem: ss.cpuUsed.System,
		SenderHasRetransmits: -1,
	}
	if len(ss.tx) > 0 {
		res.SenderHasRetransmits = 0
	}
	secs := ss.elapsed.Seconds()
	udpperf := ss.params.Udpperf != nil
	for i, r := range ss.rx {
		c, _, _ := ss.rxFinal(r)
		sr := StreamResults{ID: Num(StreamID(i)), Bytes: Num(c.Bytes), Retransmits: -1, Jitter: c.Jitter,
			Errors: Num(c.Lost), Packets: Num(c.Packets), EndTime: secs}
		if udpperf {
			sr.Udpperf = extrasOf(c)
		}
		res.Streams = append(res.Streams, sr)
	}
	for j, s := range ss.tx {
		id := Num(StreamID(len(ss.rx) + j))
		t := s.tx.counts()
		sr := StreamResults{ID: id, Bytes: Num(t.Bytes), Retransmits: -1, Packets: Num(t.Packets), EndTime: secs}
		for _, ps := range peer.Streams { // iperf3 echoes the receiver's figures
			if ps.ID == id {
				sr.Jitter, sr.Errors = ps.Jitter, ps.Errors
			}
		}
		res.Streams = append(res.Streams, sr)
	}
	if udpperf {
		res.Udpperf = &ResultsExtras{KernelDrops: ss.srv.dm.sock.kernelDrops() - ss.kernel0, Transport: ss.srv.transport()}
	}
	if ss.params.GetServerOutput != 0 {
		res.ServerOutputText = ss.text.String()
	}
	return res
}
