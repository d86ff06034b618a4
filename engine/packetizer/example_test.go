package packetizer_test

import (
	"fmt"

	"udpstream.dev/engine"
	"udpstream.dev/engine/packetizer"
)

// Two packetizers back to back, without RSSI: a frame sent on tDest 5 of
// one comes out of tDest 5 of the other. Over RSSI, connect Transport()
// both ways to an rssi Controller's Application() instead; the segment
// size then follows the link.
func ExamplePacketizer_Application() {
	opts := packetizer.Options{Version: 2, SSI: true, InboundCRC: true, OutboundCRC: true, MaxPayload: 1456}
	tx, _ := packetizer.New(opts)
	rx, _ := packetizer.New(opts)
	engine.Connect(tx.Transport(), rx.Transport())
	engine.Connect(rx.Application(5), engine.SlaveFunc(func(f engine.Frame) {
		b := make([]byte, f.Payload())
		f.ReadAt(b, 0)
		fmt.Printf("tDest %d: %d bytes, first %q, last %q\n", f.Channel(), len(b), b[:3], b[len(b)-3:])
	}))
	f, _ := engine.NewPool().AcceptReq(5000, true) // four segments
	for i := 0; i < 5000; i += 10 {
		f.Write([]byte("abcdefghij"))
	}
	tx.Application(5).AcceptFrame(f)
	f.Release()
	fmt.Println(tx.Stats().TxSegments, "segments")
	// Output:
	// tDest 5: 5000 bytes, first "abc", last "hij"
	// 4 segments
}
