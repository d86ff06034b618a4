package mmsg_test

import (
	"fmt"

	"udpstream.dev/mmsg"
)

// A GRO receive of 2500 bytes with segment size 1000 holds three datagrams,
// the last one short.
func ExampleAppendSegments() {
	buf := make([]byte, 2500)
	var datagrams [][]byte // reuse across receives to avoid allocating
	datagrams = mmsg.AppendSegments(datagrams[:0], buf, 1000)
	for _, d := range datagrams {
		fmt.Println(len(d))
	}
	// Output:
	// 1000
	// 1000
	// 500
}

// Plan how many queued datagrams one GSO send carries: equal sizes, then at
// most one shorter tail, within the kernel's limits.
func ExampleGSORun() {
	queued := []int{1472, 1472, 1472, 900, 1472, 1472}
	for len(queued) > 0 {
		n := mmsg.GSORun(queued, mmsg.MaxPayloadIPv4, mmsg.MaxGSOSegments)
		fmt.Printf("one send of %d datagrams, SegmentSize %d\n", n, queued[0])
		queued = queued[n:]
	}
	fmt.Println(mmsg.GSOSegments(8972, mmsg.MaxPayloadIPv4, mmsg.MaxGSOSegments), "jumbo datagrams fit one GSO send")
	// Output:
	// one send of 4 datagrams, SegmentSize 1472
	// one send of 2 datagrams, SegmentSize 1472
	// 7 jumbo datagrams fit one GSO send
}
