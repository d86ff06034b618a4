package udp_test

import (
	"fmt"
	"log"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
	"udpstream.dev/xdp"
)

// An AF_XDP server on queue 0 of eth1 that checks a PRBS stream and echoes
// every datagram from where it landed in the UMEM. It needs Linux, root and
// an interface whose queue 0 receives the stream, so it is not run here.
func ExampleWithXDP() {
	server, err := udp.NewServer(8192, true,
		udp.WithTransport(udp.TransportXDP),
		udp.WithXDP("eth1", 0, xdp.ModeAuto), // native zero-copy, else native copy, else generic
		udp.WithPoolSize(8192))               // UMEM chunks of 4 KiB: 32 MiB
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	engine.Connect(server, server) // replies reuse the received buffers

	st := server.Stats()
	fmt.Println(st.XDP.Mode, st.XDP.MultiBuffer, st.XDP.RxMalformed)
}
