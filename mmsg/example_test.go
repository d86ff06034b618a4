package mmsg_test

import (
	"fmt"

	"udpstream.dev/mmsg"
)

// A GRO receive of 2500 bytes with segment size 1000 holds three datagrams,
// the last one short.
func ExampleSegmentAt() {
	m := mmsg.Message{N: 2500, SegmentSize: 1000}
	for i := range m.Datagrams() {
		off, length, _ := mmsg.SegmentAt(m.N, m.SegmentSize, i)
		fmt.Println(off, length)
	}
	// Output:
	// 0 1000
	// 1000 1000
	// 2000 500
}

// Plan how many queued datagrams each GSO send carries: equal sizes, then at
// most one shorter tail, within the kernel's limits.
func ExampleGSOSend() {
	queued := []int{1472, 1472, 1472, 900, 1472, 1472}
	var g mmsg.GSOSend
	for len(queued) > 0 {
		n := 1
		if g.Start(queued[0], mmsg.MaxPayloadIPv4, mmsg.MaxGSOSegments) {
			for n < len(queued) && g.Add(queued[n]) {
				n++
			}
		}
		fmt.Printf("one send of %d datagrams, SegmentSize %d\n", n, queued[0])
		queued = queued[n:]
	}
	fmt.Println(mmsg.GSOSegments(8972, mmsg.MaxPayloadIPv4, mmsg.MaxGSOSegments), "jumbo datagrams fit one GSO send")
	// Output:
	// one send of 4 datagrams, SegmentSize 1472
	// one send of 2 datagrams, SegmentSize 1472
	// 7 jumbo datagrams fit one GSO send
}
