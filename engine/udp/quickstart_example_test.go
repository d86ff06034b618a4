package udp_test

import (
	"fmt"
	"log"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// check ends the example on an error.
func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// The README's quick start: a server that echoes what it receives, and a
// client that sends one frame and prints the echo.
func Example_quickStart() {
	server, err := udp.NewServer(0, false) // port 0: the system chooses
	check(err)
	defer server.Close()
	engine.Connect(server, server) // Rogue's server >> server: echo
	client, err := udp.NewClient("127.0.0.1", server.Port(), false)
	check(err)
	defer client.Close()
	got := make(chan string, 1)
	engine.Connect(client, engine.SlaveFunc(func(f engine.Frame) { b, _ := f.Bytes(); got <- string(b) }))
	f, err := client.ReqFrame(5, true)
	check(err)
	f.Write([]byte("hello"))
	client.AcceptFrame(f) // Rogue's sendFrame: transmit it
	f.Release()
	fmt.Println("client received", <-got)
	// Output: client received hello
}
