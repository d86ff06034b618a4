package iperf3

import "encoding/binary"

// A PRBS payload (udpperf's extra, asked for with Extras.PRBS) fills each
// datagram after its header with the output of a 32-bit Galois LFSR
// (x^32 + x^22 + x^2 + x + 1, a maximal-length polynomial) seeded with
// the datagram's counter, one 32-bit big-endian word per step; a last
// partial word takes the leading bytes of the next output. The receiver
// regenerates the sequence from the counter in the header and counts a
// datagram whose payload differs as a PRBS error.

const prbsTaps = 0x80200003

func prbsNext(s uint32) uint32 {
	if s&1 != 0 {
		return s>>1 ^ prbsTaps
	}
	return s >> 1
}

// prbsSeed is the LFSR state for a datagram's counter (never 0).
func prbsSeed(count uint64) uint32 {
	s := uint32(count) ^ uint32(count>>32)
	if s == 0 {
		s = 0x1d872b41
	}
	return s
}

// fillPRBS writes the PRBS payload of the datagram numbered count into b
// (the bytes after the header).
func fillPRBS(b []byte, count uint64) {
	s := prbsSeed(count)
	var w [4]byte
	for len(b) > 0 {
		s = prbsNext(s)
		binary.BigEndian.PutUint32(w[:], s)
		b = b[copy(b, w[:]):]
	}
}

// checkPRBS reports whether b is the PRBS payload of datagram count.
func checkPRBS(b []byte, count uint64) bool {
	s := prbsSeed(count)
	var w [4]byte
	for len(b) > 0 {
		s = prbsNext(s)
		binary.BigEndian.PutUint32(w[:], s)
		n := min(4, len(b))
		for i := 0; i < n; i++ {
			if b[i] != w[i] {
				return false
			}
		}
		b = b[n:]
	}
	return true
}
