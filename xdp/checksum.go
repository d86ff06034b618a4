package xdp

import (
	"encoding/binary"
	"math/bits"
)

// csum accumulates the 16-bit ones' complement sum of RFC 1071 over a byte
// stream that may arrive in pieces (the frames of a multi-buffer packet).
//
// It adds 8 bytes at a time in little-endian order with carries: the ones'
// complement sum is byte-order independent up to a final byte swap, so the
// wide loop needs no per-word conversion. A piece that starts at an odd
// position of the stream has its bytes in the other lane of each 16-bit word;
// its partial sum is rotated by 8 bits before being added.
type csum struct {
	sum uint64 // little-endian lanes, end-around carry kept folded in
	odd bool   // an odd number of bytes has been added so far
}

// add appends b to the stream.
func (c *csum) add(b []byte) {
	if len(b) == 0 {
		return
	}
	s := sumLE(b)
	if c.odd {
		s = rot8(s)
	}
	c.sum = addCarry(c.sum, s)
	if len(b)&1 != 0 {
		c.odd = !c.odd
	}
}

// add16 appends a big-endian 16-bit value at an even stream position. Used
// for pseudo-header fields, which are never split.
func (c *csum) add16(v uint16) {
	s := uint64(bits.ReverseBytes16(v))
	c.sum = addCarry(c.sum, s)
}

// fold returns the 16-bit ones' complement sum in network byte order.
func (c *csum) fold() uint16 {
	return bits.ReverseBytes16(fold64(c.sum))
}

// checksum returns the Internet checksum (RFC 1071) of b: the ones'
// complement of the ones' complement sum of its 16-bit big-endian words,
// an odd trailing byte padded with zero. Storing it big-endian in a zeroed
// checksum field makes the sum over the data verify as 0xffff.
func checksum(b []byte) uint16 {
	var c csum
	c.add(b)
	return ^c.fold()
}

// sumLE adds b as little-endian 64-bit words with end-around carry and
// returns a value whose 16-bit lanes, once folded, give the little-endian
// ones' complement sum of b.
func sumLE(b []byte) uint64 {
	var s, carry uint64
	for len(b) >= 32 {
		s, carry = bits.Add64(s, binary.LittleEndian.Uint64(b[0:8]), carry)
		s, carry = bits.Add64(s, binary.LittleEndian.Uint64(b[8:16]), carry)
		s, carry = bits.Add64(s, binary.LittleEndian.Uint64(b[16:24]), carry)
		s, carry = bits.Add64(s, binary.LittleEndian.Uint64(b[24:32]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		s, carry = bits.Add64(s, binary.LittleEndian.Uint64(b), carry)
		b = b[8:]
	}
	s = addCarry(s, carry)
	var tail uint64
	switch len(b) {
	case 7:
		tail |= uint64(b[6]) << 48
		fallthrough
	case 6:
		tail |= uint64(b[5]) << 40
		fallthrough
	case 5:
		tail |= uint64(b[4]) << 32
		fallthrough
	case 4:
		tail |= uint64(b[3]) << 24
		fallthrough
	case 3:
		tail |= uint64(b[2]) << 16
		fallthrough
	case 2:
		tail |= uint64(b[1]) << 8
		fallthrough
	case 1:
		tail |= uint64(b[0])
	}
	return addCarry(s, tail)
}

// addCarry is a 64-bit ones' complement addition.
func addCarry(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	return s + c
}

// fold64 reduces a 64-bit ones' complement accumulator to 16 bits.
func fold64(s uint64) uint16 {
	s = (s & 0xffffffff) + (s >> 32)
	s = (s & 0xffffffff) + (s >> 32)
	s = (s & 0xffff) + (s >> 16)
	s = (s & 0xffff) + (s >> 16)
	return uint16(s)
}

// rot8 swaps the byte lanes of a partial sum so it can be added to a stream
// at the other parity: folding then rotating equals rotating then folding
// for ones' complement sums.
func rot8(s uint64) uint64 {
	return uint64(bits.ReverseBytes16(fold64(s)))
}
