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

// fillVec writes the LFSR words of body (at least one word) with the
// vector paths; vecWidth(p) must hold.
func fillVec(body []byte, seed uint32, p *pattern) {
	n := len(body) / p.wb
	if p.wb == 4 {
		fill32AVX2(&body[0], n, seed, p.jt)
		return
	}
	var w0 [4 + MaxWidth/8]byte
	binary.LittleEndian.PutUint32(w0[4:], seed)
	fillWideAVX2(&body[0], n, &w0[4], p.jt, p.wb/4)
}

// verifyVec checks body (at least one word) against the LFSR words seeded
// by word0, whose padding is known to be zero, with the vector paths;
// vecWidth(p) must hold.
func verifyVec(body, word0 []byte, p *pattern) error {
	wb := p.wb
	n := len(body) / wb
	var at int
	if wb == 4 {
		at = verify32AVX2(&body[0], n, binary.LittleEndian.Uint32(word0), p.jt)
	} else {
		var w0 [4 + MaxWidth/8]byte
		copy(w0[4:], word0[:wb])
		at = verifyWideAVX2(&body[0], n, &w0[4], p.jt, wb/4)
	}
	if at >= n {
		return nil
	}
	return locateChunk(body, word0, at, p)
}
