package account

import (
	"math"
	"testing"
	"time"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/traffic"
	"udpstream.dev/bench/wire"
)

func TestJitterFollowsRFC3550(t *testing.T) {
	var j jitter
	for _, transit := range []int64{1000, 1016, 1016, 984} {
		j.observe(transit)
	}
	// J1 = 16/16 = 1; J2 = 1 + (0-1)/16; J3 = J2 + (32-J2)/16.
	j2 := 1 - 1.0/16
	if want := j2 + (32-j2)/16; math.Abs(j.ns-want) > 1e-9 {
		t.Fatalf("jitter %v, want %v", j.ns, want)
	}
}

// stampedDatagram is a data datagram sent transit ago.
func stampedDatagram(seq uint64, transit time.Duration) []byte {
	b := make([]byte, 100)
	wire.PutSeq(b, seq)
	wire.PutSendTime(b, time.Now().Add(-transit).UnixNano())
	return b
}

func TestReceiverMeasuresJitterOfStampedSessions(t *testing.T) {
	for _, stamped := range []bool{true, false} {
		peer := benchtest.NewPeer(t)
		r, err := NewReceiver(peer, peer, -1, false)
		if err != nil {
			t.Fatal(err)
		}
		benchtest.Deliver(t, peer.Pool, r, benchtest.HelloMsg(t, 3, SessionParams{Payload: 100, Stamped: stamped}))
		// Transit alternates between 0 and 5 ms, so every |D| is 5 ms;
		// 2 ms between datagrams keeps the receiver reading the clock for
		// every one.
		const n = 10
		for i := range n {
			benchtest.Deliver(t, peer.Pool, r, stampedDatagram(uint64(i), time.Duration(i%2)*5*time.Millisecond))
			time.Sleep(2 * time.Millisecond)
		}
		benchtest.Deliver(t, peer.Pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 3, A: n, B: n * 100}))
		sums := r.Sessions()
		if len(sums) != 1 {
			t.Fatalf("sessions %+v", sums)
		}
		got := sums[0].JitterMs
		if !stamped {
			if got != 0 {
				t.Fatalf("a session without send times reports jitter %v ms", got)
			}
			continue
		}
		want := 5 * (1 - math.Pow(15.0/16, n-1))
		if math.Abs(got-want) > 0.5 {
			t.Fatalf("jitter %.3f ms, want about %.3f ms", got, want)
		}
	}
}

func TestStampedPathsAllocateNothing(t *testing.T) {
	tx := benchtest.NewTx(t)
	tx.Keep = false
	s, err := traffic.NewSender(tx, 1472, 64, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	s.Stamp = true
	if allocs := testing.AllocsPerRun(100, func() {
		s.Fill(64, time.Now().UnixNano())
		tx.SendBatch(s.Frames)
	}); allocs != 0 {
		t.Fatalf("sender: %v allocations per batch", allocs)
	}
	if ns, ok := wire.SendTime(s.Mem[0]); !ok || ns == 0 {
		t.Fatalf("no send time in a stamped datagram: %d", ns)
	}

	peer := benchtest.NewPeer(t)
	r, _ := NewReceiver(peer, peer, -1, false)
	r.BeginImplicit(SessionParams{Payload: 1472})
	r.resetJitter(true)
	f, _ := peer.Pool.AcceptReq(1472, true)
	defer f.Release()
	f.SetPayload(1472)
	mem, _ := f.Bytes()
	seq := uint64(0)
	if allocs := testing.AllocsPerRun(1000, func() {
		wire.PutSeq(mem, seq)
		wire.PutSendTime(mem, time.Now().UnixNano())
		seq++
		r.AcceptFrame(f)
	}); allocs != 0 {
		t.Fatalf("receiver: %v allocations per datagram", allocs)
	}
	if r.JitterMs() <= 0 {
		t.Fatal("no jitter estimate from stamped datagrams")
	}
}

func BenchmarkStamped(b *testing.B) {
	b.Run("fill", func(b *testing.B) {
		s, _ := traffic.NewSender(benchtest.NewTx(b), 1472, 64, false, false)
		defer s.Release()
		s.Stamp = true
		b.ReportAllocs()
		for b.Loop() {
			s.Fill(64, 1)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/datagram")
	})
	b.Run("receive", func(b *testing.B) {
		peer := benchtest.NewPeer(b)
		r, _ := NewReceiver(peer, peer, -1, false)
		r.BeginImplicit(SessionParams{Payload: 1472})
		r.resetJitter(true)
		f, _ := peer.Pool.AcceptReq(1472, true)
		defer f.Release()
		f.SetPayload(1472)
		mem, _ := f.Bytes()
		wire.PutSendTime(mem, time.Now().UnixNano())
		b.ReportAllocs()
		i := uint64(0)
		for b.Loop() {
			wire.PutSeq(mem, i)
			i++
			r.AcceptFrame(f)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/datagram")
	})
}
