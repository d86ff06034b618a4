package rssirun

import (
	"encoding/json"
	"fmt"
	"io"

	"udpstream.dev/engine/udprssi"
)

// Report is the summary of either side, in the names the other modes
// use: packets are frames.
type Report struct {
	Role            string  `json:"role"`
	Packetizer      int     `json:"packetizer"`
	Packets         uint64  `json:"packets"`
	Bytes           uint64  `json:"bytes"`
	Seconds         float64 `json:"seconds"`
	BitsPerSecond   float64 `json:"bits_per_second"`
	PacketsPerSec   float64 `json:"packets_per_second"`
	LostPackets     uint64  `json:"lost_packets"`
	PRBSErrors      uint64  `json:"prbs_errors"`
	Retransmits     uint64  `json:"retransmits"`
	InjectedLosses  uint64  `json:"injected_losses"`
	Link            string  `json:"link"`
	Resets          uint64  `json:"resets"`
	SegmentsSent    uint64  `json:"segments_sent"`
	SegmentsDropped uint64  `json:"segments_dropped"`

	// Linked tells whether a link opened during the run (the server's
	// report; always true for a client that got as far as a report).
	Linked bool `json:"-"`
}

func (r *Report) fill(p *udprssi.Pack, frames, bytes uint64, secs float64) {
	s := p.RSSI.Stats()
	r.Packets, r.Bytes, r.Seconds = frames, bytes, secs
	if secs > 0 {
		r.BitsPerSecond, r.PacketsPerSec = float64(bytes)*8/secs, float64(frames)/secs
	}
	r.Retransmits, r.InjectedLosses, r.Link, r.Resets = s.Retransmits, p.InjectedLosses(), s.State.String(), s.Resets
	r.SegmentsSent, r.SegmentsDropped = s.TxSegments, s.Drops
}

// Write prints r as one indented JSON object (asJSON) or one line of text.
func (r *Report) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "udpperf %s --rssi: %d frames, %d bytes in %.2f s: %.3f Gbit/s, %.0f frames/s; lost %d, PRBS errors %d, retransmits %d, injected losses %d, link %s, resets %d\n",
		r.Role, r.Packets, r.Bytes, r.Seconds, r.BitsPerSecond/1e9, r.PacketsPerSec, r.LostPackets, r.PRBSErrors, r.Retransmits, r.InjectedLosses, r.Link, r.Resets)
	return nil
}
