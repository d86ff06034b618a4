package bench

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udp"
)

// fakePeer stands in for the udp.Server a receiver replies through.
type fakePeer struct {
	pool *engine.Pool
	mu   sync.Mutex
	sent [][]byte
	st   udp.Stats
}

func newFakePeer(t testing.TB) *fakePeer {
	p, err := engine.NewFixedPool(udp.MaxPayloadJumbo, 256, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &fakePeer{pool: p}
}

func (p *fakePeer) Send(f engine.Frame) error {
	b, err := f.Bytes()
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.sent = append(p.sent, append([]byte(nil), b...))
	p.mu.Unlock()
	return nil
}

func (p *fakePeer) AcceptReq(size int, zc bool) (engine.Frame, error) {
	return p.pool.AcceptReq(size, zc)
}
func (p *fakePeer) Stats() udp.Stats { return p.st }

func (p *fakePeer) replies(t *testing.T) []wire.Message {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wire.Message
	for _, b := range p.sent {
		m, err := wire.Decode(b)
		if err != nil {
			t.Fatalf("reply is not a control message: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// deliver hands the receiver one datagram as a frame, as a server would.
func deliver(t testing.TB, p *engine.Pool, r engine.Slave, data []byte) {
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

func seqDatagram(seq uint64, size int) []byte {
	b := make([]byte, size)
	wire.PutSeq(b, seq)
	return b
}

func prbsDatagram(t testing.TB, seq uint32, size int) []byte {
	b := make([]byte, size)
	if err := prbs.Fill(b, seq, report.PRBSWidth); err != nil {
		t.Fatal(err)
	}
	return b
}

func helloMsg(t testing.TB, session uint64, p account.SessionParams) []byte {
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return wire.Encode(nil, wire.Message{Type: wire.TypeHello, Session: session, Body: body})
}

func TestReceiverSessionCountsLossAndReorder(t *testing.T) {
	peer := newFakePeer(t)
	r, err := account.NewReceiver(peer, peer, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	// Traffic before any session is counted but not sequence-tracked.
	deliver(t, peer.pool, r, seqDatagram(999999, 100))
	deliver(t, peer.pool, r, helloMsg(t, 7, account.SessionParams{Payload: 100}))
	for _, s := range []uint64{0, 1, 2, 5, 3, 6, 7} { // 4 lost, 3 late
		deliver(t, peer.pool, r, seqDatagram(s, 100))
	}
	r.PublishCounts() // as the server's end does
	if got := r.Snapshot(); got.Packets != 8 || got.Missing != 1 || got.Late != 1 {
		t.Fatalf("running counters %+v", got)
	}
	peer.st.KernelDroppedBuffers = 3 // as if the kernel had dropped three meanwhile
	end := wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 7, A: 9, B: 900})
	deliver(t, peer.pool, r, end)
	deliver(t, peer.pool, r, end) // a repeated end gets the same answer

	replies := peer.replies(t)
	if len(replies) != 3 || replies[0].Type != wire.TypeWelcome || replies[1].Type != wire.TypeResult || string(replies[1].Body) != string(replies[2].Body) {
		t.Fatalf("replies %+v", replies)
	}
	var sum account.SessionSummary
	if err := json.Unmarshal(replies[1].Body, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.ID != 7 || sum.Packets != 7 || sum.SentPackets != 9 || sum.LostPackets != 2 || sum.OutOfOrder != 1 || sum.KernelDrops != 3 || !sum.LossKnown {
		t.Fatalf("summary %+v", sum)
	}
	if want := 100 * 2.0 / 9; sum.LostPercent != want {
		t.Fatalf("lost percent %v, want %v", sum.LostPercent, want)
	}
	if len(r.Sessions()) != 1 {
		t.Fatalf("sessions %v", r.Sessions())
	}
	select {
	case ev := <-r.Events:
		if ev.ID != 7 {
			t.Fatalf("event for session %d", ev.ID)
		}
	default:
		t.Fatal("no session event")
	}
}

func TestReceiverEchoesPingsAndRejectsJunk(t *testing.T) {
	peer := newFakePeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, false)
	ping := wire.Encode(nil, wire.Message{Type: wire.TypePing, Session: 1, A: 42, B: 1234})
	ping = append(ping, make([]byte, 24)...)
	deliver(t, peer.pool, r, ping)
	peer.mu.Lock()
	echoed := len(peer.sent) == 1 && string(peer.sent[0]) == string(ping)
	peer.mu.Unlock()
	if !echoed {
		t.Fatal("ping not echoed unchanged")
	}
	if r.Packets.Load() != 0 {
		t.Fatal("a ping was counted as data")
	}
	deliver(t, peer.pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 99}))         // no such session
	deliver(t, peer.pool, r, wire.Encode(nil, wire.Message{Type: 200}))                               // unknown type
	deliver(t, peer.pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeHello, Body: []byte("{")})) // bad body
	if got := r.ControlErrors.Load(); got != 3 {
		t.Fatalf("control errors %d, want 3", got)
	}
}

func TestReceiverPRBSFindsCorruptionEvenAfterGaps(t *testing.T) {
	peer := newFakePeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, true) // check everything as PRBS
	const size = 256
	for s := range uint32(10) {
		deliver(t, peer.pool, r, prbsDatagram(t, s, size))
	}
	// Frame 11 follows a gap (10 lost) and is corrupt: Rogue's checker
	// stops at the sequence verdict; the receiver must still catch it.
	bad := prbsDatagram(t, 11, size)
	bad[100] ^= 0x40
	deliver(t, peer.pool, r, bad)
	// Frame 12 is in order and corrupt.
	bad = prbsDatagram(t, 12, size)
	bad[size-1] ^= 1
	deliver(t, peer.pool, r, bad)
	deliver(t, peer.pool, r, prbsDatagram(t, 13, size))

	if got := r.PRBSErrors(); got != 2 {
		t.Fatalf("PRBS errors %d, want 2", got)
	}
	if desc := r.FirstPRBSError(); !strings.Contains(desc, "prbs") {
		t.Fatalf("first error %q", desc)
	}
	if got := r.Missing.Load(); got != 1 {
		t.Fatalf("missing %d, want 1 (frame 10)", got)
	}
	r.PublishCounts()
	if r.Packets.Load() != 13 {
		t.Fatalf("packets %d", r.Packets.Load())
	}
}

func TestReceiverCleanPRBSSessionHasNoErrors(t *testing.T) {
	peer := newFakePeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, false)
	deliver(t, peer.pool, r, helloMsg(t, 3, account.SessionParams{Payload: 64, PRBS: true}))
	for s := range uint32(50) {
		if s == 20 || s == 21 {
			continue // lost: sequence verdicts, not corruption
		}
		deliver(t, peer.pool, r, prbsDatagram(t, s, 64))
	}
	deliver(t, peer.pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 3, A: 50, B: 3200}))
	s := r.Sessions()
	if len(s) != 1 || s[0].PRBSErrors != 0 || s[0].LostPackets != 2 || s[0].PRBSSeqErrors != 1 {
		t.Fatalf("sessions %+v", s)
	}
}

// TestReceiverSplitFrames feeds datagrams spread over several buffers, as
// jumbo datagrams arrive over AF_XDP.
func TestReceiverSplitFrames(t *testing.T) {
	small, err := engine.NewFixedPool(1024, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer := newFakePeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, true)
	for s := range uint32(6) {
		if s == 3 {
			continue // a gap: the next frame is verified by the receiver itself
		}
		d := prbsDatagram(t, s, 3000)
		if s == 4 {
			d[2500] ^= 1
		}
		deliver(t, small, r, d)
	}
	r.PublishCounts()
	if r.Packets.Load() != 5 || r.Bytes.Load() != 15000 || r.Missing.Load() != 1 || r.PRBSErrors() != 1 || r.Bad.Load() != 0 {
		t.Fatalf("packets %d bytes %d missing %d prbs errors %d bad %d", r.Packets.Load(), r.Bytes.Load(), r.Missing.Load(), r.PRBSErrors(), r.Bad.Load())
	}
}

func TestReceiverAllocatesNothingPerDatagram(t *testing.T) {
	for _, on := range []bool{false, true} {
		peer := newFakePeer(t)
		r, _ := account.NewReceiver(peer, peer, -1, on)
		r.BeginImplicit(account.SessionParams{Payload: 1472, PRBS: on})
		f, _ := peer.pool.AcceptReq(1472, true)
		f.SetPayload(1472)
		mem, _ := f.Bytes()
		seq := uint32(0)
		allocs := testing.AllocsPerRun(1000, func() {
			if on {
				prbs.Fill(mem, seq, report.PRBSWidth)
			} else {
				wire.PutSeq(mem, uint64(seq))
			}
			seq++
			r.AcceptFrame(f)
		})
		f.Release()
		if allocs != 0 {
			t.Fatalf("prbs=%v: %v allocations per datagram", on, allocs)
		}
		if r.PRBSErrors() != 0 || r.Missing.Load() != 0 {
			t.Fatalf("prbs=%v: errors %d missing %d", on, r.PRBSErrors(), r.Missing.Load())
		}
	}
}

func BenchmarkReceiverAcceptFrame(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "seq"
		if on {
			name = "prbs"
		}
		b.Run(name, func(b *testing.B) {
			peer := newFakePeer(b)
			r, _ := account.NewReceiver(peer, peer, -1, on)
			r.BeginImplicit(account.SessionParams{Payload: 1472, PRBS: on})
			frames := make([]engine.Frame, 1024)
			mems := make([][]byte, len(frames))
			for i := range frames {
				frames[i], _ = peer.pool.AcceptReq(1472, true)
				frames[i].SetPayload(1472)
				mems[i], _ = frames[i].Bytes()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Every datagram carries the next sequence number, as on
				// the wire; writing it costs a few nanoseconds (a PRBS
				// frame is written before the clock starts for its slot).
				k := i & 1023
				if on {
					if i < 1024 {
						b.StopTimer()
						prbs.Fill(mems[k], uint32(i), report.PRBSWidth)
						b.StartTimer()
					}
					// PRBS frames repeat every 1024: the checker sees a
					// sequence jump then and verifies payload anyway.
				} else {
					wire.PutSeq(mems[k], uint64(i))
				}
				r.AcceptFrame(frames[k])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/datagram")
			for _, f := range frames {
				f.Release()
			}
		})
	}
}

// Data counts are published with the stamps and before every control
// message, so a session starts and ends on exact counts.
func TestReceiverPublishesCountsAtControl(t *testing.T) {
	peer := newFakePeer(t)
	r, err := account.NewReceiver(peer, peer, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	for s := range uint64(3 * account.MaxStride) {
		deliver(t, peer.pool, r, seqDatagram(s, 100))
	}
	if got := r.Packets.Load(); got > 3*account.MaxStride || got < 2*account.MaxStride {
		t.Fatalf("%d of %d datagrams published before a control message", got, 3*account.MaxStride)
	}
	deliver(t, peer.pool, r, helloMsg(t, 7, account.SessionParams{Payload: 100}))
	if got := r.Packets.Load(); got != 3*account.MaxStride || r.Bytes.Load() != 300*account.MaxStride {
		t.Fatalf("%d datagrams, %d bytes published at a control message, want %d", got, r.Bytes.Load(), 3*account.MaxStride)
	}
}
