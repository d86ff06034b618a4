package prbs

import (
	"bytes"
	"encoding/binary"
)

// The chunk view of the LFSR words, for taps that all lie below bit 32:
// limb q of word i (1..32) of a chunk is (A_q << i) | (B_q >> (32-i)),
// where A is the word just before the chunk (word 0 for the first) and B
// the chunk's last word, whose limbs are B_0 = jump(A_0) and B_q = A_(q-1).
// A chunk therefore follows from the word before it alone, so a checker
// can take A from the frame (the previous chunk has passed) and the chunks
// are independent; this is what the vector paths compute, eight lanes at a
// time. The functions here are the same computation a limb at a time: the
// portable form of the vector paths and the place their errors are named.

// vecWidth reports whether the vector paths handle pattern p.
func vecWidth(p *pattern) bool {
	if !haveAVX2 || p.jt == nil {
		return false
	}
	switch p.wb {
	case 4, 8, 16, 32, 64:
		return true
	}
	return false
}

// expectChunk writes into dst the first n (1..chunkWords) words of the
// chunk that follows the word prev.
func expectChunk(dst, prev []byte, n int, jt *jumpTable) {
	var a, b [maxLimbs]uint32
	wb := len(prev)
	limbs := wb / 4
	for q := range limbs {
		a[q] = binary.LittleEndian.Uint32(prev[4*q:])
	}
	b[0] = jt.jump(a[0])
	copy(b[1:limbs], a[:limbs-1])
	for q := range limbs {
		h := uint64(a[q])<<32 | uint64(b[q])
		for i := 1; i <= n; i++ {
			binary.LittleEndian.PutUint32(dst[(i-1)*wb+4*q:], uint32(h>>(32-i)))
		}
	}
}

// fillChunks writes the LFSR words of body (whole words) that follow the
// word prev, a chunk at a time from the word before it.
func fillChunks(body, prev []byte, p *pattern) {
	wb := p.wb
	for off := 0; off < len(body); off += chunkWords * wb {
		n := min(len(body)-off, chunkWords*wb) / wb
		expectChunk(body[off:], prev, n, p.jt)
		prev = body[off+(n-1)*wb : off+n*wb]
	}
}

// checkChunks is vecCheck a chunk at a time, each from the frame's own
// word before it: the index of the first word of the first chunk of body
// that differs from the LFSR words after the word prev, or the number of
// words.
func checkChunks(body, prev []byte, p *pattern) int {
	wb := p.wb
	var want [maxChunkBytes]byte
	for off := 0; off < len(body); off += chunkWords * wb {
		n := min(len(body)-off, chunkWords*wb) / wb
		expectChunk(want[:], prev, n, p.jt)
		if !bytes.Equal(body[off:off+n*wb], want[:n*wb]) {
			return off / wb
		}
		prev = body[off+(n-1)*wb : off+n*wb]
	}
	return len(body) / wb
}

// checkAfter checks body (at least one word) against the LFSR words that
// follow the word prev with the vector paths, naming the first bad word;
// firstWord is the frame index of body's first word.
func checkAfter(body, prev []byte, firstWord int, p *pattern) error {
	at := vecCheck(body, prev, p)
	if at >= len(body)/p.wb {
		return nil
	}
	return locateChunk(body, prev, at, firstWord, p)
}

// locateChunk names the first bad word of the chunk of body that starts
// at word at, all earlier words being right; prev is the word before
// body and firstWord the frame index of body's first word.
func locateChunk(body, prev []byte, at, firstWord int, p *pattern) error {
	wb := p.wb
	if at > 0 {
		prev = body[(at-1)*wb : at*wb]
	}
	got := body[at*wb:]
	n := min(len(got)/wb, chunkWords)
	var want [maxChunkBytes]byte
	expectChunk(want[:], prev, n, p.jt)
	return mismatch(got[:n*wb], want[:n*wb], firstWord+at, wb)
}
