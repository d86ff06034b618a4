package bench

import (
	"testing"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
)

func TestRepliesGoToTheReplySlave(t *testing.T) {
	peer := benchtest.NewPeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, false)
	welcome := wire.Encode(nil, wire.Message{Type: wire.TypeWelcome, Session: 4})
	benchtest.Deliver(t, peer.Pool, r, welcome)
	if r.Invalid() != 1 {
		t.Fatalf("a stray welcome is not counted as invalid: %d", r.Invalid())
	}
	rs := newReplySlave()
	r.Replies = rs
	benchtest.Deliver(t, peer.Pool, r, welcome)
	select {
	case w := <-rs.welcome:
		if w.session != 4 {
			t.Fatalf("welcome for %d", w.session)
		}
	default:
		t.Fatal("the welcome did not reach the reply slave")
	}
	if r.Invalid() != 1 {
		t.Fatalf("invalid %d", r.Invalid())
	}
}

// closingPeer is a benchtest.Peer whose owner closes it as soon as the
// receiver publishes a session's end, as a reverse client does.
type closingPeer struct {
	*benchtest.Peer
	events chan account.SessionSummary
}

func (p closingPeer) Send(f engine.Frame) error {
	if len(p.events) > 0 {
		return engine.ErrClosed
	}
	return p.Peer.Send(f)
}

func TestResultGoesOutBeforeTheEndIsPublished(t *testing.T) {
	fake := benchtest.NewPeer(t)
	peer := closingPeer{Peer: fake}
	r, _ := account.NewReceiver(peer, fake, -1, false)
	peer.events = r.Events
	r.Reply = peer
	benchtest.Deliver(t, fake.Pool, r, benchtest.HelloMsg(t, 9, account.SessionParams{Payload: 64}))
	benchtest.Deliver(t, fake.Pool, r, benchtest.SeqDatagram(0, 64))
	benchtest.Deliver(t, fake.Pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 9, A: 1, B: 64}))
	select {
	case sum := <-r.Events:
		if sum.ID != 9 || sum.Packets != 1 {
			t.Fatalf("summary %+v", sum)
		}
	default:
		t.Fatal("the session's end was not published")
	}
	var results int
	for _, m := range fake.Replies(t) {
		if m.Type == wire.TypeResult && m.Session == 9 {
			results++
		}
	}
	if results != 1 || r.ControlErrors.Load() != 0 {
		t.Fatalf("%d results sent before the owner closed the socket (control errors %d)", results, r.ControlErrors.Load())
	}
}
