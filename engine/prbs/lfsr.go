package prbs

import (
	"encoding/binary"
	"math/bits"
)

const (
	// defaultMask holds Rogue's default taps, bits 1, 2, 6 and 31, as a
	// mask of the low 32 bits of a word.
	defaultMask uint32 = 1<<1 | 1<<2 | 1<<6 | 1<<31

	// chunkWords is how many words one jump of the LFSR yields.
	chunkWords = 32

	// maxLimbs is the number of 32-bit limbs of the widest word.
	maxLimbs = MaxWidth / 32

	// maxChunkBytes is the size of one chunk of the widest words.
	maxChunkBytes = chunkWords * MaxWidth / 8
)

// stepMask advances the low 32 bits of an LFSR word whose taps (mask) all
// lie in those bits by one step. It is the definition the fast paths are
// tested against.
func stepMask(w, mask uint32) uint32 {
	return w<<1 | uint32(bits.OnesCount32(w&mask)&1)
}

// step is stepMask with the default taps.
func step(w uint32) uint32 { return stepMask(w, defaultMask) }

// jumpTable[b][v] is the low 32 bits, chunkWords steps later, of a word
// whose only non-zero byte is byte b with value v, and jumpTable[4+b][v]
// the same 2*chunkWords steps later. The LFSR is linear over GF(2), so
// the word 32 (or 64) steps after any w is the XOR of the entries of its
// four bytes. The 64-step rows let the vector fill run two independent
// chains of jumps (even and odd chunks) instead of one.
type jumpTable [8][256]uint32

// defaultJump is the table of the default taps, shared by every pattern
// that uses them.
var defaultJump = buildJumpTable(defaultMask)

// buildJumpTable returns the table of the taps in mask (all below bit 32).
func buildJumpTable(mask uint32) *jumpTable {
	t := new(jumpTable)
	for b := range 4 {
		for v := range 256 {
			w := uint32(v) << (8 * b)
			for i := range 2 * chunkWords {
				w = stepMask(w, mask)
				if i == chunkWords-1 {
					t[b][v] = w
				}
			}
			t[4+b][v] = w
		}
	}
	return t
}

// jump returns the word chunkWords steps after w.
func (t *jumpTable) jump(w uint32) uint32 {
	return t[0][uint8(w)] ^ t[1][uint8(w>>8)] ^ t[2][uint8(w>>16)] ^ t[3][w>>24]
}

// stream produces the LFSR words of one frame (word 2 onwards), one chunk of
// chunkWords words per advance, for taps that all lie in the low 32 bits.
//
// Number the LFSR words n = 1, 2, ... (word n is frame word n+1) and let w_n
// be the low 32 bits of word n, with w_0 the seed and, for n < 0, w_n the
// seed shifted right by -n (the zero padding of word 0 shifting in). Limb q
// of word n is w_(n-32q). Chunk c holds words 32c+1 .. 32c+32, and
// H_c = w_(32c)<<32 | w_(32c+32) contains every one of their low limbs as a
// window: w_(32c+i) = uint32(H_c >> (32-i)). Limb q of the same words are
// windows of H_(c-q), which is why the stream keeps the last limbs values.
type stream struct {
	h     [maxLimbs]uint64 // h[q] = H_(c-q) for the current chunk c
	limbs int
	jt    *jumpTable
}

// newStream starts the stream of a frame whose word 0 has low bits seed.
// Before the first advance h[0] is H_(-1) = w_(-32)<<32 | w_0 = seed, and
// the older values are zero: they only hold shifted-out padding.
func newStream(seed uint32, limbs int, jt *jumpTable) stream {
	s := stream{limbs: limbs, jt: jt}
	s.h[0] = uint64(seed)
	return s
}

// advance moves to the next chunk.
func (s *stream) advance() {
	w := uint32(s.h[0])
	if s.limbs > 1 {
		copy(s.h[1:s.limbs], s.h[:s.limbs-1])
	}
	s.h[0] = uint64(w)<<32 | uint64(s.jt.jump(w))
}

// next advances to the next chunk and writes its first n bytes into buf,
// which holds the previous chunk unless first is set. It is fillBody for a
// chunk buffer that is reused: wide words shift the previous chunk up by
// one limb in place and add limb 0.
func (s *stream) next(buf []byte, n, wb int, first bool) {
	s.advance()
	if wb == 4 || first {
		s.put(buf[:n], n/wb)
		return
	}
	copy(buf[4:n], buf[:n-4])
	putLimb(buf[:n], s.h[0], n/wb, wb)
}

// put writes the first n (1..chunkWords) words of the current chunk to dst.
func (s *stream) put(dst []byte, n int) {
	if s.limbs == 1 && n == chunkWords {
		put32(dst, s.h[0])
		return
	}
	wb := 4 * s.limbs
	for q := range s.limbs {
		putLimb(dst[4*q:], s.h[q], n, wb)
	}
}

// diff XORs the first n words of the current chunk with src and ORs the
// results together: zero means they are equal.
func (s *stream) diff(src []byte, n int) uint32 {
	if s.limbs == 1 && n == chunkWords {
		return diff32(src, s.h[0])
	}
	wb := 4 * s.limbs
	var d uint32
	for q := range s.limbs {
		d |= diffLimb(src[4*q:], s.h[q], n, wb)
	}
	return d
}

// putLimb writes one 32-bit limb of each of the first n words of a chunk,
// wb bytes apart, from the chunk's window value h: word i (1..n) gets
// uint32(h >> (32-i)), which is the high half of h << i.
func putLimb(dst []byte, h uint64, n, wb int) {
	dst = dst[:(n-1)*wb+4]
	for {
		h <<= 1
		binary.LittleEndian.PutUint32(dst, uint32(h>>32))
		if len(dst) <= wb {
			return
		}
		dst = dst[wb:]
	}
}

// diffLimb is putLimb comparing instead of writing: it ORs together the
// XOR of each expected limb with the one in src.
func diffLimb(src []byte, h uint64, n, wb int) uint32 {
	var d uint32
	src = src[:(n-1)*wb+4]
	for {
		h <<= 1
		d |= binary.LittleEndian.Uint32(src) ^ uint32(h>>32)
		if len(src) <= wb {
			return d
		}
		src = src[wb:]
	}
}

// put32 writes a whole chunk of 32-bit words: the hot loop of width 32.
// Word 32-k is uint32(h >> k); eight words per iteration with constant
// shifts keep it to a shift and a store per word.
func put32(dst []byte, h uint64) {
	d := (*[4 * chunkWords]byte)(dst)
	for k := 0; k < chunkWords; k += 8 {
		w := d[4*(chunkWords-8-k) : 4*(chunkWords-k)]
		binary.LittleEndian.PutUint32(w[28:], uint32(h))
		binary.LittleEndian.PutUint32(w[24:], uint32(h>>1))
		binary.LittleEndian.PutUint32(w[20:], uint32(h>>2))
		binary.LittleEndian.PutUint32(w[16:], uint32(h>>3))
		binary.LittleEndian.PutUint32(w[12:], uint32(h>>4))
		binary.LittleEndian.PutUint32(w[8:], uint32(h>>5))
		binary.LittleEndian.PutUint32(w[4:], uint32(h>>6))
		binary.LittleEndian.PutUint32(w[0:], uint32(h>>7))
		h >>= 8
	}
}

// diff32 compares a whole chunk of 32-bit words, as put32 writes them.
func diff32(src []byte, h uint64) uint32 {
	d := (*[4 * chunkWords]byte)(src)
	var x uint32
	for k := 0; k < chunkWords; k += 8 {
		w := d[4*(chunkWords-8-k) : 4*(chunkWords-k)]
		x |= binary.LittleEndian.Uint32(w[28:]) ^ uint32(h)
		x |= binary.LittleEndian.Uint32(w[24:]) ^ uint32(h>>1)
		x |= binary.LittleEndian.Uint32(w[20:]) ^ uint32(h>>2)
		x |= binary.LittleEndian.Uint32(w[16:]) ^ uint32(h>>3)
		x |= binary.LittleEndian.Uint32(w[12:]) ^ uint32(h>>4)
		x |= binary.LittleEndian.Uint32(w[8:]) ^ uint32(h>>5)
		x |= binary.LittleEndian.Uint32(w[4:]) ^ uint32(h>>6)
		x |= binary.LittleEndian.Uint32(w[0:]) ^ uint32(h>>7)
		h >>= 8
	}
	return x
}

// wideLFSR is the LFSR of a word with a tap above bit 31, where the fast
// stream does not apply: the word is kept whole, in 32-bit limbs, and
// advanced one step per word as the format defines it.
type wideLFSR struct {
	w     [maxLimbs]uint32 // limb q holds bits 32q..32q+31
	mask  *[maxLimbs]uint32
	limbs int
}

// newWideLFSR starts the LFSR of a frame whose word 0 has low bits seed
// (the rest of word 0 is zero padding).
func newWideLFSR(seed uint32, p *pattern) wideLFSR {
	l := wideLFSR{mask: &p.mask, limbs: p.wb / 4}
	l.w[0] = seed
	return l
}

// step shifts the word left by one and feeds the parity of its tap bits
// into bit 0.
func (l *wideLFSR) step() {
	var x uint32
	for q := range l.limbs {
		x ^= l.w[q] & l.mask[q]
	}
	for q := l.limbs - 1; q > 0; q-- {
		l.w[q] = l.w[q]<<1 | l.w[q-1]>>31
	}
	l.w[0] = l.w[0]<<1 | uint32(bits.OnesCount32(x)&1)
}

// put writes the next len(dst)/wb words into dst.
func (l *wideLFSR) put(dst []byte) {
	wb := 4 * l.limbs
	for off := 0; off+wb <= len(dst); off += wb {
		l.step()
		for q := range l.limbs {
			binary.LittleEndian.PutUint32(dst[off+4*q:], l.w[q])
		}
	}
}

// chunker produces the LFSR words of one frame a chunk at a time into a
// buffer that the caller reuses for every chunk, by whichever of the two
// generators the pattern allows.
type chunker struct {
	s     stream
	w     wideLFSR
	wide  bool
	first bool
	wb    int
}

func newChunker(seed uint32, p *pattern) chunker {
	if p.jt == nil {
		return chunker{w: newWideLFSR(seed, p), wide: true, wb: p.wb}
	}
	return chunker{s: newStream(seed, p.wb/4, p.jt), first: true, wb: p.wb}
}

// next writes the next n bytes (whole words, at most one chunk) into buf,
// which holds what the previous call wrote.
func (c *chunker) next(buf []byte, n int) {
	if c.wide {
		c.w.put(buf[:n])
		return
	}
	c.s.next(buf, n, c.wb, c.first)
	c.first = false
}

// putCount writes the words of a count frame into dst: word i holds i,
// zero-padded, where first is the frame index of dst's first word.
func putCount(dst []byte, first, wb int) {
	clear(dst)
	for off := 0; off+wb <= len(dst); off += wb {
		binary.LittleEndian.PutUint32(dst[off:], uint32(first))
		first++
	}
}
