package prbs

import (
	"fmt"
	"strings"
	"testing"
)

// verifyText returns Verify's error text for frame (width 32), empty when
// it passes, with the vector paths on or off.
func verifyText(frame []byte, on bool) (text string) {
	withAVX2(nil, on, func() {
		if _, err := Verify(frame, 32); err != nil {
			text = err.Error()
		}
	})
	return text
}

// checkBad verifies bad on both paths and fails unless both name word as
// the first bad one, with the same text.
func checkBad(t *testing.T, bad []byte, word int, what string) {
	t.Helper()
	vec, portable := verifyText(bad, true), verifyText(bad, false)
	if vec != portable || !strings.Contains(vec, fmt.Sprintf("word %d is", word)) {
		t.Fatalf("%s: vector %q, portable %q, want word %d named", what, vec, portable, word)
	}
}

// TestVectorLinkEveryWord flips bits (bit 0, the one the word link does not
// compare, bit 1 and bit 31) in every word of width-32 frames, so that each
// position in a chunk, the first and last included, is hit in the first
// chunk, the linked ones and the last one checked again from an earlier
// start.
func TestVectorLinkEveryWord(t *testing.T) {
	for _, words := range []int{34, 65, 100, 368} {
		good := refFrame(0x9e3779b9, words*4, 4)
		if vec := verifyText(good, true); vec != "" {
			t.Fatalf("%d words: reference frame fails: %s", words, vec)
		}
		for word := 2; word < words; word++ {
			for _, bit := range []int{0, 1, 31} {
				bad := append([]byte(nil), good...)
				bad[4*word+bit/8] ^= 1 << (bit % 8)
				checkBad(t, bad, word, fmt.Sprintf("%d words, bit %d of word %d", words, bit, word))
			}
		}
	}
}

// TestVectorLinkWrongBit carries one wrong incoming bit through the words
// that hold it (bit j of word n+j), so that every word is still the one
// before it shifted by one: only the jump from the word before each chunk
// to its last word can catch it, and the first bad word must be word n.
func TestVectorLinkWrongBit(t *testing.T) {
	const words = 368
	good := refFrame(12345, words*4, 4)
	for n := 2; n < words; n++ {
		bad := append([]byte(nil), good...)
		for j := 0; j < 32 && n+j < words; j++ {
			bad[4*(n+j)+j/8] ^= 1 << (j % 8)
		}
		checkBad(t, bad, n, fmt.Sprintf("wrong bit carried from word %d", n))
	}
}

// TestJump64 checks the 64-step rows of the jump table, which the vector
// fill chains on, against two 32-step jumps and against stepping, for the
// default taps and others.
func TestJump64(t *testing.T) {
	for _, mask := range []uint32{defaultMask, 1<<3 | 1<<31, 1<<0 | 1<<5 | 1<<17} {
		jt := buildJumpTable(mask)
		w := uint32(0x12345678)
		for i := range 1000 {
			got := jt[4][uint8(w)] ^ jt[5][uint8(w>>8)] ^ jt[6][uint8(w>>16)] ^ jt[7][w>>24]
			s := w
			for range 2 * chunkWords {
				s = stepMask(s, mask)
			}
			if want := jt.jump(jt.jump(w)); got != want || got != s {
				t.Fatalf("mask %#x, word %d (%#x): 64-step row gives %#x, two jumps %#x, stepping %#x", mask, i, w, got, want, s)
			}
			w = w*2654435761 + 1
		}
	}
}
