package account

import (
	"encoding/json"
	"strings"
	"testing"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

func TestReceiverSessionCountsLossAndReorder(t *testing.T) {
	peer := benchtest.NewPeer(t)
	r, err := NewReceiver(peer, peer, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	// Traffic before any session is counted but not sequence-tracked.
	benchtest.Deliver(t, peer.Pool, r, benchtest.SeqDatagram(999999, 100))
	benchtest.Deliver(t, peer.Pool, r, benchtest.HelloMsg(t, 7, SessionParams{Payload: 100}))
	for _, s := range []uint64{0, 1, 2, 5, 3, 6, 7} { // 4 lost, 3 late
		benchtest.Deliver(t, peer.Pool, r, benchtest.SeqDatagram(s, 100))
	}
	r.PublishCounts() // as the server's end does
	if got := r.Snapshot(); got.Packets != 8 || got.Missing != 1 || got.Late != 1 {
		t.Fatalf("running counters %+v", got)
	}
	peer.Counters.KernelDroppedBuffers = 3 // as if the kernel had dropped three meanwhile
	end := wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 7, A: 9, B: 900})
	benchtest.Deliver(t, peer.Pool, r, end)
	benchtest.Deliver(t, peer.Pool, r, end) // a repeated end gets the same answer

	replies := peer.Replies(t)
	if len(replies) != 3 || replies[0].Type != wire.TypeWelcome || replies[1].Type != wire.TypeResult || string(replies[1].Body) != string(replies[2].Body) {
		t.Fatalf("replies %+v", replies)
	}
	var sum SessionSummary
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
	peer := benchtest.NewPeer(t)
	r, _ := NewReceiver(peer, peer, -1, false)
	ping := wire.Encode(nil, wire.Message{Type: wire.TypePing, Session: 1, A: 42, B: 1234})
	ping = append(ping, make([]byte, 24)...)
	benchtest.Deliver(t, peer.Pool, r, ping)
	sent := peer.Sent()
	echoed := len(sent) == 1 && string(sent[0]) == string(ping)
	if !echoed {
		t.Fatal("ping not echoed unchanged")
	}
	if r.Packets.Load() != 0 {
		t.Fatal("a ping was counted as data")
	}
	benchtest.Deliver(t, peer.Pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 99}))         // no such session
	benchtest.Deliver(t, peer.Pool, r, wire.Encode(nil, wire.Message{Type: 200}))                               // unknown type
	benchtest.Deliver(t, peer.Pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeHello, Body: []byte("{")})) // bad body
	if got := r.ControlErrors.Load(); got != 3 {
		t.Fatalf("control errors %d, want 3", got)
	}
}

func TestReceiverPRBSFindsCorruptionEvenAfterGaps(t *testing.T) {
	peer := benchtest.NewPeer(t)
	r, _ := NewReceiver(peer, peer, -1, true) // check everything as PRBS
	const size = 256
	for s := range uint32(10) {
		benchtest.Deliver(t, peer.Pool, r, benchtest.PRBSDatagram(t, s, size))
	}
	// Frame 11 follows a gap (10 lost) and is corrupt: Rogue's checker
	// stops at the sequence verdict; the receiver must still catch it.
	bad := benchtest.PRBSDatagram(t, 11, size)
	bad[100] ^= 0x40
	benchtest.Deliver(t, peer.Pool, r, bad)
	// Frame 12 is in order and corrupt.
	bad = benchtest.PRBSDatagram(t, 12, size)
	bad[size-1] ^= 1
	benchtest.Deliver(t, peer.Pool, r, bad)
	benchtest.Deliver(t, peer.Pool, r, benchtest.PRBSDatagram(t, 13, size))

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
	peer := benchtest.NewPeer(t)
	r, _ := NewReceiver(peer, peer, -1, false)
	benchtest.Deliver(t, peer.Pool, r, benchtest.HelloMsg(t, 3, SessionParams{Payload: 64, PRBS: true}))
	for s := range uint32(50) {
		if s == 20 || s == 21 {
			continue // lost: sequence verdicts, not corruption
		}
		benchtest.Deliver(t, peer.Pool, r, benchtest.PRBSDatagram(t, s, 64))
	}
	benchtest.Deliver(t, peer.Pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 3, A: 50, B: 3200}))
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
	peer := benchtest.NewPeer(t)
	r, _ := NewReceiver(peer, peer, -1, true)
	for s := range uint32(6) {
		if s == 3 {
			continue // a gap: the next frame is verified by the receiver itself
		}
		d := benchtest.PRBSDatagram(t, s, 3000)
		if s == 4 {
			d[2500] ^= 1
		}
		benchtest.Deliver(t, small, r, d)
	}
	r.PublishCounts()
	if r.Packets.Load() != 5 || r.Bytes.Load() != 15000 || r.Missing.Load() != 1 || r.PRBSErrors() != 1 || r.bad.Load() != 0 {
		t.Fatalf("packets %d bytes %d missing %d prbs errors %d bad %d", r.Packets.Load(), r.Bytes.Load(), r.Missing.Load(), r.PRBSErrors(), r.bad.Load())
	}
}

func TestReceiverAllocatesNothingPerDatagram(t *testing.T) {
	for _, on := range []bool{false, true} {
		peer := benchtest.NewPeer(t)
		r, _ := NewReceiver(peer, peer, -1, on)
		r.BeginImplicit(SessionParams{Payload: 1472, PRBS: on})
		f, _ := peer.Pool.AcceptReq(1472, true)
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
			peer := benchtest.NewPeer(b)
			r, _ := NewReceiver(peer, peer, -1, on)
			r.BeginImplicit(SessionParams{Payload: 1472, PRBS: on})
			frames := make([]engine.Frame, 1024)
			mems := make([][]byte, len(frames))
			for i := range frames {
				frames[i], _ = peer.Pool.AcceptReq(1472, true)
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
	peer := benchtest.NewPeer(t)
	r, err := NewReceiver(peer, peer, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	for s := range uint64(3 * maxStride) {
		benchtest.Deliver(t, peer.Pool, r, benchtest.SeqDatagram(s, 100))
	}
	if got := r.Packets.Load(); got > 3*maxStride || got < 2*maxStride {
		t.Fatalf("%d of %d datagrams published before a control message", got, 3*maxStride)
	}
	benchtest.Deliver(t, peer.Pool, r, benchtest.HelloMsg(t, 7, SessionParams{Payload: 100}))
	if got := r.Packets.Load(); got != 3*maxStride || r.Bytes.Load() != 300*maxStride {
		t.Fatalf("%d datagrams, %d bytes published at a control message, want %d", got, r.Bytes.Load(), 3*maxStride)
	}
}

// TestReceiverSessionCPUScope checks whose CPU time a session's summary
// carries: the delivery thread's when it owns its thread, the process's
// for a receiver alone in its process (a server in the netpoller mode),
// and none otherwise (a receive queue in a process that also sends).
func TestReceiverSessionCPUScope(t *testing.T) {
	for _, c := range []struct {
		locked, process bool
		scope           string
	}{
		{true, true, "thread"},
		{false, true, "process"},
		{false, false, ""},
	} {
		peer := benchtest.NewPeer(t)
		r, err := NewReceiver(peer, peer, -1, false)
		if err != nil {
			t.Fatal(err)
		}
		r.LockedThread, r.ProcessCPU = c.locked, c.process
		benchtest.Deliver(t, peer.Pool, r, benchtest.HelloMsg(t, 3, SessionParams{Payload: 100}))
		for s := range uint64(4) {
			benchtest.Deliver(t, peer.Pool, r, benchtest.SeqDatagram(s, 100))
		}
		benchtest.Deliver(t, peer.Pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 3, A: 4, B: 400}))
		sums := r.Sessions()
		if len(sums) != 1 {
			t.Fatalf("locked %v, process %v: sessions %v", c.locked, c.process, sums)
		}
		if got := sums[0].CPUScope; got != c.scope {
			t.Errorf("locked %v, process %v: CPU scope %q, want %q", c.locked, c.process, got, c.scope)
		}
	}
}
