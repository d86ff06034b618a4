package udp_test

import (
	"fmt"
	"log"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// printer is a slave that prints the frames it receives and signals each.
type printer struct{ got chan struct{} }

func (p printer) AcceptFrame(f engine.Frame) {
	b, err := f.Bytes()
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Printf("client received %q\n", b)
	p.got <- struct{}{}
}

// A server that echoes every datagram back to its sender, and a client
// that talks to it: Rogue's `server >> server` and `client >> printer`.
func ExampleNewServer() {
	server, err := udp.NewServer(0, false) // port 0: the system chooses
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	engine.Connect(server, server) // received frames go straight back out

	client, err := udp.NewClient("127.0.0.1", server.Port(), false)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	p := printer{got: make(chan struct{}, 1)}
	engine.Connect(client, p)

	f, err := client.AcceptReq(5, true) // from the client's transmit pool
	if err != nil {
		log.Fatal(err)
	}
	f.Write([]byte("hello"))
	if err := client.Send(f); err != nil {
		log.Fatal(err)
	}
	f.Release()
	<-p.got
	// Receive counters are published before the frame is delivered.
	fmt.Println("max payload:", client.MaxPayload(), "frames received:", client.Stats().RxFrames)
	// Output:
	// client received "hello"
	// max payload: 1472 frames received: 1
}

// A Master attached to a client allocates its frames from the client's
// pool and transmits them with SendFrame; with a transmit queue and the
// GRO transport, equal frames leave coalesced in UDP GSO messages.
func ExampleNewClient() {
	server, err := udp.NewServer(0, true, udp.WithTransport(udp.TransportGRO))
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	client, err := udp.NewClient("localhost", server.Port(), true,
		udp.WithTransport(udp.TransportGRO), udp.WithTxQueue(1024))
	if err != nil {
		log.Fatal(err)
	}
	var source engine.Master
	engine.Connect(&source, client)
	for range 10 {
		f, err := source.ReqFrame(8000, true)
		if err != nil {
			log.Fatal(err)
		}
		f.SetPayload(8000)
		source.SendFrame(f)
		f.Release()
	}
	client.Close() // flushes the transmit queue
	st := client.Stats()
	fmt.Println("sent:", st.TxFrames, "GSO:", st.GSO)
	// Output:
	// sent: 10 GSO: true
}
