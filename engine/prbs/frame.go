package prbs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// DefaultWidth is the word width, in bits, that Rogue uses unless told
	// otherwise. A width of 0 given to any function here selects it.
	DefaultWidth = 32

	// MaxWidth is the widest word Rogue supports, in bits.
	MaxWidth = 512
)

var (
	// ErrWidth is returned for a word width that is not a multiple of 32
	// between 32 and MaxWidth.
	ErrWidth = errors.New("prbs: bad word width")

	// ErrSize is returned for a frame whose size is not a whole number of
	// at least three words, or whose word 1 disagrees with its size.
	ErrSize = errors.New("prbs: bad frame size")

	// ErrPayload is returned when a word after the size word differs from
	// the LFSR sequence seeded by word 0 (or word 0's padding is not zero).
	ErrPayload = errors.New("prbs: payload mismatch")
)

// wordBytes validates width (0 = DefaultWidth) and returns the word size in
// bytes.
func wordBytes(width int) (int, error) {
	if width == 0 {
		width = DefaultWidth
	}
	if width < 32 || width > MaxWidth || width%32 != 0 {
		return 0, widthError(width)
	}
	return width / 8, nil
}

// widthError, sizeError and countError build the errors of wordBytes,
// checkSize and checkCount outside them, keeping the per-frame checks
// small.
func widthError(width int) error {
	return fmt.Errorf("%w: %d is not a multiple of 32 from 32 to %d", ErrWidth, width, MaxWidth)
}

func sizeError(size, wb int) error {
	return fmt.Errorf("%w: %d bytes is not a whole number of at least 3 words of %d bytes", ErrSize, size, wb)
}

func countError(got uint32, size, wb int) error {
	return fmt.Errorf("%w: word 1 is %d, a frame of %d bytes needs %d", ErrSize, got, size, size/wb-1)
}

// checkSize reports whether size bytes make a valid frame of wb-byte words.
func checkSize(size, wb int) error {
	if size%wb != 0 || size < 3*wb {
		return sizeError(size, wb)
	}
	return nil
}

// Fill writes the frame with sequence number seq into dst, whose length is
// the frame size: a multiple of width/8 bytes, at least three words. width
// is the word width in bits (0 = DefaultWidth). It writes every byte of dst
// and nothing else, and does not allocate.
func Fill(dst []byte, seq uint32, width int) error {
	if (width == 0 || width == DefaultWidth) && fill32Fast(dst, seq) {
		return nil
	}
	p, err := defaultPattern(width)
	if err != nil {
		return err
	}
	if err := checkSize(len(dst), p.wb); err != nil {
		return err
	}
	putHeader(dst, seq, len(dst), p.wb)
	fillBody(dst[2*p.wb:], seq, p)
	return nil
}

// putHeader writes words 0 and 1 of a frame of size bytes.
func putHeader(dst []byte, seq uint32, size, wb int) {
	clear(dst[:2*wb])
	binary.LittleEndian.PutUint32(dst, seq)
	binary.LittleEndian.PutUint32(dst[wb:], uint32(size/wb-1))
}

// fillBody writes the LFSR words of pattern p seeded by seed into body, a
// whole number of words. For words wider than 32 bits, every chunk after
// the first repeats the previous chunk's bytes shifted up by one limb (limb
// q of word n is limb q-1 of word n-32), so it is one copy plus the new
// limb 0.
func fillBody(body []byte, seed uint32, p *pattern) {
	if p.jt == nil {
		w := newWideLFSR(seed, p)
		w.put(body)
		return
	}
	if vecWidth(p) && len(body) > 0 {
		var w0 [MaxWidth / 8]byte
		binary.LittleEndian.PutUint32(w0[:], seed)
		vecFill(body, w0[:p.wb], p)
		return
	}
	wb := p.wb
	s := newStream(seed, wb/4, p.jt)
	chunk := chunkWords * wb
	for off := 0; off < len(body); off += chunk {
		s.advance()
		n := min(len(body)-off, chunk)
		if wb == 4 || off == 0 {
			s.put(body[off:off+n], n/wb)
			continue
		}
		copy(body[off+4:off+n], body[off-chunk:off-chunk+n-4])
		putLimb(body[off:off+n], s.h[0], n/wb, wb)
	}
}

// Verify checks one frame of width-bit words (0 = DefaultWidth): its size,
// its size word (word 1) and every LFSR word against the sequence seeded by
// word 0. It returns the frame's sequence number (zero when the size is
// invalid) and nil, or an error wrapping ErrWidth, ErrSize or ErrPayload
// that names the first bad word with the value found and the value
// expected. Verify knows nothing of the previous frame: sequence tracking
// is the Checker's job. It does not allocate unless it fails.
func Verify(data []byte, width int) (seq uint32, err error) {
	if (width == 0 || width == DefaultWidth) && verify32Fast(data) {
		return binary.LittleEndian.Uint32(data), nil
	}
	p, err := defaultPattern(width)
	if err != nil {
		return 0, err
	}
	if err := checkSize(len(data), p.wb); err != nil {
		return 0, err
	}
	seq = binary.LittleEndian.Uint32(data)
	if err := checkCount(data[p.wb:], len(data), p.wb); err != nil {
		return seq, err
	}
	return seq, verifyRest(data, p)
}

// checkCount compares the low 32 bits of word 1 with the frame size: the
// part of the size word that Rogue's checker compares.
func checkCount(word1 []byte, size, wb int) error {
	if got := binary.LittleEndian.Uint32(word1); got != uint32(size/wb-1) {
		return countError(got, size, wb)
	}
	return nil
}

// checkPadding verifies that the bits of words 0 and 1 above the low 32
// are zero, as the generator writes them. Rogue's checker reads only the
// low 32 bits of the size word and never looks at word 0's padding except
// through the LFSR seed, where its top bit falls off unseen; checking
// them is what makes every bit of a wide frame count.
func checkPadding(hdr []byte, wb int) error {
	if !allZero(hdr[wb+4 : 2*wb]) {
		return fmt.Errorf("%w: padding of word 1 is %s, want 0", ErrSize, hexWord(hdr[wb:2*wb]))
	}
	if !allZero(hdr[4:wb]) {
		return fmt.Errorf("%w: padding of word 0 is %s, want 0", ErrPayload, hexWord(hdr[:wb]))
	}
	return nil
}

// verifyRest checks everything of a contiguous frame but its size, its
// sequence and the low 32 bits of word 1, against pattern p.
func verifyRest(data []byte, p *pattern) error {
	wb := p.wb
	if wb > 4 {
		if err := checkPadding(data, wb); err != nil {
			return err
		}
	}
	if vecWidth(p) {
		// checkAfter, one call fewer on the per-frame path
		body := data[2*wb:]
		if at := vecCheck(body, data[:wb], p); at < len(body)/wb {
			return locateChunk(body, data[:wb], at, 2, p)
		}
		return nil
	}
	seed := binary.LittleEndian.Uint32(data)
	chunk := chunkWords * wb
	if wb == 4 {
		// Width 32 (whose taps all lie in the low 32 bits): compare with
		// the LFSR values in registers.
		s := newStream(seed, 1, p.jt)
		for off := 2 * wb; off < len(data); off += chunk {
			s.advance()
			n := min(len(data)-off, chunk)
			if s.diff(data[off:off+n], n/wb) != 0 {
				return s.locate(data[off:off+n], off/wb, wb)
			}
		}
		return nil
	}
	// Wider words: build each chunk as fillBody does, then compare memory.
	var want [maxChunkBytes]byte
	c := newChunker(seed, p)
	for off := 2 * wb; off < len(data); off += chunk {
		n := min(len(data)-off, chunk)
		c.next(want[:], n)
		if !bytes.Equal(data[off:off+n], want[:n]) {
			return mismatch(data[off:off+n], want[:n], off/wb, wb)
		}
	}
	return nil
}

// locate is mismatch against the current chunk of s, which got (whole
// words, at most a chunk) is known to differ from.
func (s *stream) locate(got []byte, firstWord, wb int) error {
	var want [maxChunkBytes]byte
	s.put(want[:len(got)], len(got)/wb)
	return mismatch(got, want[:len(got)], firstWord, wb)
}

// mismatch names the first word in got that differs from want, which
// hold the same number of words; firstWord is the frame index of got's
// first word. It runs only once a difference is known.
func mismatch(got, want []byte, firstWord, wb int) error {
	for i := 0; i+wb <= len(got); i += wb {
		g, w := got[i:i+wb], want[i:i+wb]
		if !bytes.Equal(g, w) {
			return fmt.Errorf("%w: word %d is %s, want %s", ErrPayload, firstWord+i/wb, hexWord(g), hexWord(w))
		}
	}
	return fmt.Errorf("%w: in words %d to %d", ErrPayload, firstWord, firstWord+len(got)/wb-1)
}

// zeroWord is a word of zero bytes, the padding allZero compares with.
var zeroWord [MaxWidth / 8]byte

// allZero reports whether b, at most one word long, holds only zero
// bytes: the padding of a 512-bit frame's header is 120 bytes, checked
// per frame, so it is compared as memory (vector compares) rather than a
// word at a time.
func allZero(b []byte) bool {
	return bytes.Equal(b, zeroWord[:len(b)])
}

// hexWord formats a little-endian word as a hexadecimal number.
func hexWord(le []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2, 2+2*len(le))
	copy(out, "0x")
	for i := len(le) - 1; i >= 0; i-- {
		out = append(out, digits[le[i]>>4], digits[le[i]&15])
	}
	return string(out)
}
