package iperf3

import (
	"time"

	"udpstream.dev/mmsg"
)

// receive counts a client's receiving stream until its socket closes.
// The socket is connected, so everything on it comes from the server's
// port: a datagram too short for the header is malformed, one outside the
// test is counted as outside (rxStream decides).
func receive(sock *dataSock, rx *rxStream) {
	batch := sendBatch
	if !sock.batched() {
		batch = 1
	}
	msgs := make([]mmsg.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	for {
		n, err := sock.read(msgs)
		if err != nil {
			if isClosed(err) {
				return
			}
			time.Sleep(time.Millisecond) // an ICMP error queued on the socket; no spin on a lasting one
			continue
		}
		arrival := since(time.Now())
		for i := 0; i < n; i++ {
			m := &msgs[i]
			if m.Truncated {
				rx.mu.Lock()
				rx.c.Malformed++
				rx.mu.Unlock()
				continue
			}
			rx.mu.Lock()
			for j, k := 0, m.Datagrams(); j < k; j++ {
				off, l, _ := mmsg.SegmentAt(m.N, m.SegmentSize, j)
				rx.addLocked(m.Buffers[0][off:off+l], arrival)
			}
			rx.mu.Unlock()
		}
	}
}
