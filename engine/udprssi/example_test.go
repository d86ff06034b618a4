package udprssi_test

import (
	"fmt"
	"log"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/packetizer"
	"udpstream.dev/engine/rssi"
	"udpstream.dev/engine/udp"
)

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// The stack as Rogue composes it, wired by hand: udp.Server == rssi.Server
// == packetizer == application port on one side, and udp.Client ==
// rssi.Client == packetizer == port on the other. Rogue's `a == b` is
// engine.Connect both ways. udprssi.NewServer and NewClient build the
// same in one call.
func Example_composition() {
	// Server end.
	us, err := udp.NewServer(0, false)
	check(err)
	rs, err := rssi.NewServer(rssi.Options{MaxSegment: us.MaxPayload() - 8})
	check(err)
	ps, err := packetizer.New(packetizer.Options{Version: 2, SSI: true, InboundCRC: true, OutboundCRC: true})
	check(err)
	engine.Connect(us, rs.Transport())
	engine.Connect(rs.Transport(), us)
	engine.Connect(rs.Application(), ps.Transport())
	engine.Connect(ps.Transport(), rs.Application())
	got := make(chan string, 1)
	engine.Connect(ps.Application(3), engine.SlaveFunc(func(f engine.Frame) {
		b := make([]byte, f.Payload())
		f.ReadAt(b, 0)
		got <- fmt.Sprintf("tDest %d: %s", f.Channel(), b)
	}))

	// Client end.
	uc, err := udp.NewClient("127.0.0.1", us.Port(), false)
	check(err)
	rc, err := rssi.NewClient(rssi.Options{MaxSegment: uc.MaxPayload() - 8})
	check(err)
	pc, err := packetizer.New(packetizer.Options{Version: 2, SSI: true, InboundCRC: true, OutboundCRC: true})
	check(err)
	engine.Connect(uc, rc.Transport())
	engine.Connect(rc.Application(), pc.Transport())
	engine.Connect(pc.Transport(), rc.Application())
	engine.Connect(rc.Transport(), uc) // the client starts its handshake

	deadline := time.Now().Add(5 * time.Second)
	for !rc.IsOpen() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	f, err := engine.NewPool().AcceptReq(5, true)
	check(err)
	f.Write([]byte("hello"))
	pc.Application(3).AcceptFrame(f) // Rogue's sendFrame on tDest 3 (refused, error set, if not open)
	f.Release()
	select {
	case s := <-got:
		fmt.Println(s)
	case <-time.After(5 * time.Second):
		fmt.Println("nothing received:", rc.Stats().State)
	}

	// Close from the top of each stack.
	pc.Close()
	rc.Close()
	uc.Close()
	ps.Close()
	rs.Close()
	us.Close()
	// Output: tDest 3: hello
}
