package udp_test

import (
	"log"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// The README's quick start: a server that echoes what it receives, and a
// client that sends one frame and prints the echo (printer is the slave of
// ExampleNewServer).
func Example_quickStart() {
	server, err := udp.NewServer(0, false) // port 0: the system chooses
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	engine.Connect(server, server) // Rogue's server >> server: echo
	client, err := udp.NewClient("127.0.0.1", server.Port(), false)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	p := printer{got: make(chan struct{}, 1)}
	engine.Connect(client, p) // client >> printer
	f, err := client.ReqFrame(5, true)
	if err != nil {
		log.Fatal(err)
	}
	f.Write([]byte("hello"))
	client.AcceptFrame(f) // Rogue's sendFrame: transmit it
	f.Release()
	<-p.got
	// Output: client received "hello"
}
