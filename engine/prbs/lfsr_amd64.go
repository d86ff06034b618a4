package prbs

import (
	"encoding/binary"

	"golang.org/x/sys/cpu"
)

// haveAVX2 selects the vector paths below; tests turn it off to check the
// portable paths on the same machine.
var haveAVX2 = cpu.X86.HasAVX2

// The vector paths take a frame body (the words after word 1) of words
// words and produce or check it 32 words (a chunk) per step from the word
// before each chunk, with the jump table of taps that all lie below bit
// 32. The verify functions return the index of the first word of the
// first chunk that differs, or words if none does.

// verify32AVX2 checks 32-bit words, seeded by seed (word 0).
//
//go:noescape
func verify32AVX2(body *byte, words int, seed uint32, jt *jumpTable) int

// fill32AVX2 writes 32-bit words, seeded by seed.
//
//go:noescape
func fill32AVX2(body *byte, words int, seed uint32, jt *jumpTable)

// verifyWideAVX2 checks words of limbs (2, 4, 8 or 16) 32-bit limbs;
// prev0 points at a copy of word 0 with 4 readable bytes before it.
//
//go:noescape
func verifyWideAVX2(body *byte, words int, prev0 *byte, jt *jumpTable, limbs int) int

// fillWideAVX2 writes such words.
//
//go:noescape
func fillWideAVX2(body *byte, words int, prev0 *byte, jt *jumpTable, limbs int)

// vecFill writes the LFSR words of body (at least one word) that follow
// the word prev; vecWidth(p) must hold.
func vecFill(body, prev []byte, p *pattern) {
	n := len(body) / p.wb
	if p.wb == 4 {
		fill32AVX2(&body[0], n, binary.LittleEndian.Uint32(prev), p.jt)
		return
	}
	var w [4 + MaxWidth/8]byte // the wide paths read 4 bytes before the word
	copy(w[4:], prev)
	fillWideAVX2(&body[0], n, &w[4], p.jt, p.wb/4)
}

// vecCheck compares body (at least one word) with the LFSR words that
// follow the word prev and returns the index of the first word of the
// first chunk that differs, or the number of words if none does;
// vecWidth(p) must hold.
func vecCheck(body, prev []byte, p *pattern) int {
	n := len(body) / p.wb
	if p.wb == 4 {
		return verify32AVX2(&body[0], n, binary.LittleEndian.Uint32(prev), p.jt)
	}
	var w [4 + MaxWidth/8]byte
	copy(w[4:], prev)
	return verifyWideAVX2(&body[0], n, &w[4], p.jt, p.wb/4)
}

// verify32Fast reports whether data is a correct frame of 32-bit words and
// the default taps, going straight to the vector path: Verify's per-frame
// path for the common case. false only means that Verify must take its
// general path, which names what is wrong (or runs without the vector
// paths).
func verify32Fast(data []byte) bool {
	n := len(data)/4 - 2
	if !haveAVX2 || len(data)%4 != 0 || n < 1 || binary.LittleEndian.Uint32(data[4:]) != uint32(n+1) {
		return false
	}
	return verify32AVX2(&data[8], n, binary.LittleEndian.Uint32(data), defaultJump) == n
}

// fill32Fast writes a frame of 32-bit words and the default taps with the
// vector path and reports true, or reports false, writing nothing, when
// Fill must take its general path (bad size, or no vector paths).
func fill32Fast(dst []byte, seq uint32) bool {
	n := len(dst)/4 - 2
	if !haveAVX2 || len(dst)%4 != 0 || n < 1 {
		return false
	}
	binary.LittleEndian.PutUint32(dst, seq)
	binary.LittleEndian.PutUint32(dst[4:], uint32(n+1))
	fill32AVX2(&dst[8], n, seq, defaultJump)
	return true
}
