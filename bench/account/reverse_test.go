package account

import (
	"testing"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/wire"
)

func TestReverseHelloIsHandedOnOnce(t *testing.T) {
	peer := benchtest.NewPeer(t)
	r, err := NewReceiver(peer, peer, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	r.Reverse = make(chan ReverseReq, 4)
	hello := benchtest.HelloMsg(t, 9, SessionParams{Payload: 1000, Rate: "10M", Duration: 1, Reverse: true})
	benchtest.Deliver(t, peer.Pool, r, hello)
	benchtest.Deliver(t, peer.Pool, r, hello) // a repeated hello is welcomed again, not run again
	if len(r.Reverse) != 1 {
		t.Fatalf("%d reverse requests for one test", len(r.Reverse))
	}
	if req := <-r.Reverse; req.Session != 9 || req.Params.Payload != 1000 || !req.Params.Reverse {
		t.Fatalf("request %+v", req)
	}
	replies := peer.Replies(t)
	if len(replies) != 2 || replies[0].Type != wire.TypeWelcome || replies[1].Session != 9 {
		t.Fatalf("replies %+v", replies)
	}
	// A reverse test opens no receiving session on the server.
	if r.Session != nil || len(r.Sessions()) != 0 {
		t.Fatalf("session %+v", r.Session)
	}

	// A receiver that is not a server cannot send a reverse test.
	other, _ := NewReceiver(peer, peer, -1, false)
	benchtest.Deliver(t, peer.Pool, other, hello)
	if other.Invalid() != 1 {
		t.Fatalf("invalid %d, want the refused hello counted", other.Invalid())
	}
}
