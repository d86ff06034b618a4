package benchtest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udp"
)

// Peer stands in for the udp.Server a receiver replies through: it keeps
// a copy of every frame sent and reports Counters as its Stats.
type Peer struct {
	Pool     *engine.Pool
	Counters udp.Stats
	mu       sync.Mutex
	sent     [][]byte
}

// NewPeer returns a Peer with a pool of jumbo frames.
func NewPeer(t testing.TB) *Peer {
	p, err := engine.NewFixedPool(udp.MaxPayloadJumbo, 256, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &Peer{Pool: p}
}

// Send keeps a copy of f's bytes.
func (p *Peer) Send(f engine.Frame) error {
	b, err := f.Bytes()
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.sent = append(p.sent, append([]byte(nil), b...))
	p.mu.Unlock()
	return nil
}

// AcceptReq takes a frame from the peer's pool.
func (p *Peer) AcceptReq(size int, zc bool) (engine.Frame, error) {
	return p.Pool.AcceptReq(size, zc)
}

// Stats returns Counters.
func (p *Peer) Stats() udp.Stats { return p.Counters }

// Sent returns the datagrams sent so far.
func (p *Peer) Sent() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.sent...)
}

// Replies decodes every datagram sent as a control message.
func (p *Peer) Replies(t testing.TB) []wire.Message {
	t.Helper()
	var out []wire.Message
	for _, b := range p.Sent() {
		m, err := wire.Decode(b)
		if err != nil {
			t.Fatalf("reply is not a control message: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// Deliver hands a slave one datagram as a frame, as a server would.
func Deliver(t testing.TB, p *engine.Pool, r engine.Slave, data []byte) {
	t.Helper()
	f, err := p.AcceptReq(len(data), true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	r.AcceptFrame(f)
}

// SeqDatagram is a plain data datagram of size bytes carrying seq.
func SeqDatagram(seq uint64, size int) []byte {
	b := make([]byte, size)
	wire.PutSeq(b, seq)
	return b
}

// PRBSDatagram is a Rogue PRBS frame of size bytes with sequence seq.
func PRBSDatagram(t testing.TB, seq uint32, size int) []byte {
	b := make([]byte, size)
	if err := prbs.Fill(b, seq, report.PRBSWidth); err != nil {
		t.Fatal(err)
	}
	return b
}

// HelloMsg is a hello control message opening session with params (the
// receiver's session parameters, as JSON).
func HelloMsg(t testing.TB, session uint64, params any) []byte {
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	return wire.Encode(nil, wire.Message{Type: wire.TypeHello, Session: session, Body: body})
}

// Tx records what a sender sends; FailEvery > 0 makes every FailEvery-th
// datagram fail. With Keep it decodes each datagram's sequence number
// (of a PRBS frame when PRBS) into Seqs, counting bad PRBS frames.
type Tx struct {
	Pool      *engine.Pool
	Seqs      []uint64
	PRBSBad   int
	PRBS      bool
	FailEvery int
	Keep      bool
	mu        sync.Mutex
	n         int
}

// NewTx returns a Tx that keeps what it is sent, with a pool of jumbo
// frames.
func NewTx(t testing.TB) *Tx {
	p, err := engine.NewFixedPool(udp.MaxPayloadJumbo, 2048, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &Tx{Pool: p, Keep: true}
}

// AcceptReq takes a frame from the pool.
func (f *Tx) AcceptReq(size int, zc bool) (engine.Frame, error) {
	return f.Pool.AcceptReq(size, zc)
}

// Send accepts a single frame without looking at it.
func (f *Tx) Send(fr engine.Frame) error { return nil }

// SendBatch counts, fails or records each frame.
func (f *Tx) SendBatch(fs []engine.Frame) (int, error) {
	sent := 0
	var err error
	for _, fr := range fs {
		f.n++
		if f.FailEvery > 0 && f.n%f.FailEvery == 0 {
			err = errors.New("refused")
			continue
		}
		sent++
		if f.Keep {
			f.record(fr)
		}
	}
	return sent, err
}

// record decodes one frame's sequence number.
func (f *Tx) record(fr engine.Frame) {
	b, err := fr.Bytes()
	if err != nil { // split over buffers
		b = make([]byte, fr.Payload())
		fr.ReadAt(b, 0)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.PRBS {
		seq, verr := prbs.Verify(b, report.PRBSWidth)
		if verr != nil {
			f.PRBSBad++
		}
		f.Seqs = append(f.Seqs, uint64(seq))
		return
	}
	s, _ := wire.Seq(b)
	f.Seqs = append(f.Seqs, s)
}
