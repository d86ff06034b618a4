package account

import (
	"math"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/wire"
)

// sessionEnd runs one session of n datagrams (those in drop missing) and
// ends it with a claim of sent datagrams.
func sessionEnd(t *testing.T, n uint64, drop map[uint64]bool, sent uint64) SessionSummary {
	t.Helper()
	peer := benchtest.NewPeer(t)
	r, _ := NewReceiver(peer, peer, -1, false)
	benchtest.Deliver(t, peer.Pool, r, benchtest.HelloMsg(t, 5, SessionParams{Payload: 100}))
	for s := range n {
		if !drop[s] {
			benchtest.Deliver(t, peer.Pool, r, benchtest.SeqDatagram(s, 100))
		}
		if s == 0 || s == n-1 {
			time.Sleep(20 * time.Millisecond) // a measurable span
		}
	}
	benchtest.Deliver(t, peer.Pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 5, A: sent, B: sent * 100}))
	s := r.Sessions()
	if len(s) != 1 {
		t.Fatalf("sessions %+v", s)
	}
	return s[0]
}

// A sender's count is believed only when it is consistent with the
// sequence numbers seen and the time the session lasted.
func TestReceiverChecksTheSentClaim(t *testing.T) {
	drop := map[uint64]bool{10: true, 11: true}
	cases := []struct {
		name   string
		claim  uint64
		lost   uint64
		reject string
	}{
		{"exact", 1000, 2, ""},
		{"tail lost", 1300, 302, ""},
		{"forged", math.MaxUint64, 2, "more than"},
		{"below the highest sequence", 900, 2, "fewer than"},
	}
	for _, c := range cases {
		s := sessionEnd(t, 1000, drop, c.claim)
		if s.SentPackets != c.claim || s.LostPackets != c.lost || !strings.Contains(s.SentRejected, c.reject) || (c.reject == "") != (s.SentRejected == "") {
			t.Fatalf("%s: sent %d lost %d rejected %q", c.name, s.SentPackets, s.LostPackets, s.SentRejected)
		}
		if s.LostPercent > 100 {
			t.Fatalf("%s: lost %v%%", c.name, s.LostPercent)
		}
	}
}

func TestImplausibleClaim(t *testing.T) {
	if why := implausibleClaim(1e6, 0, 0, 1); why != "" {
		t.Fatalf("a million in a second with nothing received: %s", why)
	}
	if why := implausibleClaim(1e12, 0, 0, 1); why == "" {
		t.Fatal("a trillion in a second believed")
	}
	if why := implausibleClaim(5e6, 1e6, 1, 1); why != "" {
		t.Fatalf("a 1 Mpps stream losing its last second: %s", why)
	}
	if why := implausibleClaim(20e6, 1e6, 1, 1); why == "" {
		t.Fatal("20 M after a 1 Mpps second believed")
	}
}
