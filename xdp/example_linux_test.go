//go:build linux

package xdp_test

import (
	"log"

	"udpstream.dev/xdp"
)

// A receive loop: every chunk of the UMEM goes to the fill ring, received
// frames are handled in place and their chunks given back.
func ExampleOpen() {
	const chunk, chunks = 4096, 4096
	umem, err := xdp.MapUMEM(chunk * chunks)
	if err != nil {
		log.Fatal(err)
	}
	defer xdp.UnmapUMEM(umem) // after Close: the UMEM is the caller's

	fill := make([]uint64, chunks)
	for i := range fill {
		fill[i] = uint64(i * chunk)
	}
	s, err := xdp.Open(xdp.Config{
		Interface: "eth0", QueueID: 0, UMEM: umem, ChunkSize: chunk,
		Port: 5000, FillSize: 2 * chunks, Fill: fill,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	log.Printf("mode %v", s.Mode())

	descs := make([]xdp.Desc, 64)
	back := make([]uint64, 0, 64)
	var p xdp.Packet
	for {
		n, err := s.ReceiveWait(descs)
		if err != nil {
			return // xdp.ErrClosed after Close
		}
		back = back[:0]
		for rest := descs[:n]; len(rest) > 0; {
			var pkt []xdp.Desc
			pkt, rest = xdp.NextPacket(rest)
			frame := umem[pkt[0].Addr : pkt[0].Addr+uint64(pkt[0].Len)]
			if len(pkt) == 1 && xdp.Parse(frame, &p, 0) == nil {
				_ = frame[p.PayloadOffset:][:p.PayloadLen] // the datagram
			}
			for _, d := range pkt {
				back = append(back, d.Addr)
			}
		}
		if _, err := s.Fill(back); err != nil {
			return
		}
	}
}
