package zmq_test

import (
	"fmt"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/zmq"
)

// printer prints the frames it gets and signals each one.
type printer struct{ got chan struct{} }

func (p printer) AcceptFrame(f engine.Frame) {
	data := make([]byte, f.Payload())
	f.ReadAt(data, 0)
	fmt.Printf("channel %d flags %#04x error %d: %s\n", f.Channel(), f.Flags(), f.Error(), data)
	p.got <- struct{}{}
}

// A server and a client on loopback, as a Rogue TcpServer and TcpClient
// would be in two processes: a frame goes from the client to the server.
func Example() {
	srv, err := zmq.NewTcpServer("127.0.0.1", 0) // port 0: any free pair
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	cli, err := zmq.NewTcpClient("127.0.0.1", srv.Port(), zmq.WithSendTimeout(5*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	p := printer{got: make(chan struct{}, 1)}
	engine.Connect(srv, p)

	f, err := cli.ReqFrame(5, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	f.Write([]byte("hello"))
	f.SetChannel(3)
	f.SetFlags(0x8103)
	if err := cli.Send(f); err != nil { // waits for the connection
		fmt.Println(err)
	}
	f.Release()
	select {
	case <-p.got:
	case <-time.After(5 * time.Second):
		fmt.Println("nothing arrived")
	}
	// Output: channel 3 flags 0x8103 error 0: hello
}
