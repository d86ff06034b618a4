//go:build linux

package mmsg_test

import (
	"fmt"
	"log"
	"net"
	"time"

	"udpstream.dev/mmsg"
)

// Send a batch of datagrams with one sendmmsg call and receive them with
// recvmmsg into buffers allocated once.
func Example() {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	reader, err := mmsg.NewConn(rx, 64)
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Close()
	writer, err := mmsg.NewConn(tx, 64)
	if err != nil {
		log.Fatal(err)
	}
	defer writer.Close()

	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	out := []mmsg.Message{
		{Buffers: [][]byte{[]byte("alpha")}, Addr: dst},
		{Buffers: [][]byte{[]byte("be"), []byte("ta")}, Addr: dst}, // gathered into one datagram
		{Buffers: [][]byte{[]byte("gamma")}, Addr: dst},
	}
	if _, err := writer.WriteBatch(out); err != nil {
		log.Fatal(err)
	}

	in := make([]mmsg.Message, 64)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	for got := 0; got < len(out); {
		n, err := reader.ReadBatch(in)
		if err != nil {
			log.Fatal(err)
		}
		for _, m := range in[:n] {
			fmt.Printf("%s (%d bytes)\n", m.Buffers[0][:m.N], m.N)
		}
		got += n
	}
	// Output:
	// alpha (5 bytes)
	// beta (4 bytes)
	// gamma (5 bytes)
}

// Send 10 datagrams of 1000 bytes and a 200-byte tail as one GSO buffer and
// receive them with GRO: one receive, split back into datagrams.
func ExampleConn_EnableGRO() {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		log.Fatal(err)
	}
	reader, _ := mmsg.NewConn(rx, 8)
	defer reader.Close()
	writer, _ := mmsg.NewConn(tx, 8)
	defer writer.Close()
	if err := reader.EnableGRO(); err != nil {
		log.Fatal(err)
	}

	// Connected socket: no Addr needed.
	out := mmsg.Message{Buffers: [][]byte{make([]byte, 10*1000+200)}, SegmentSize: 1000}
	if err := writer.WriteOne(&out); err != nil {
		log.Fatal(err)
	}

	in := []mmsg.Message{{Buffers: [][]byte{make([]byte, mmsg.GROBufferSize)}}}
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	for total := 0; total < 11; {
		if _, err := reader.ReadBatch(in); err != nil {
			log.Fatal(err)
		}
		m := &in[0]
		count := m.Datagrams()
		_, last, _ := mmsg.SegmentAt(m.N, m.SegmentSize, count-1)
		fmt.Printf("received %d bytes as %d datagrams, the last of %d bytes\n", m.N, count, last)
		total += count
	}
	// Output:
	// received 10200 bytes as 11 datagrams, the last of 200 bytes
}
