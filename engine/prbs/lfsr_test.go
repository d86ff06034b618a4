package prbs

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// refTaps are Rogue's default taps, as bit numbers of the word.
var refTaps = []int{1, 2, 6, 31}

// refNext advances a little-endian word in place the way the format is
// specified, byte by byte: the XOR of the tap bits enters at bit 0 and
// every byte's top bit carries into the next byte.
func refNext(w []byte) {
	var in byte
	for _, t := range refTaps {
		in ^= w[t/8] >> (t % 8) & 1
	}
	for i := range w {
		out := w[i] >> 7
		w[i] = w[i]<<1 | in
		in = out
	}
}

// refFrame builds a frame with the slow, obviously correct definition.
func refFrame(seq uint32, size, wb int) []byte {
	f := make([]byte, size)
	binary.LittleEndian.PutUint32(f, seq)
	binary.LittleEndian.PutUint32(f[wb:], uint32(size/wb-1))
	w := make([]byte, wb)
	copy(w, f[:wb])
	for off := 2 * wb; off < size; off += wb {
		refNext(w)
		copy(f[off:], w)
	}
	return f
}

func TestJumpIs32Steps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		w := rng.Uint32()
		want := w
		for range chunkWords {
			want = step(want)
		}
		if got := defaultJump.jump(w); got != want {
			t.Fatalf("jump(%#x) = %#x, 32 steps give %#x", w, got, want)
		}
	}
}

func TestStepMatchesByteWiseDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var b [4]byte
	for range 10000 {
		w := rng.Uint32()
		binary.LittleEndian.PutUint32(b[:], w)
		refNext(b[:])
		if got, want := step(w), binary.LittleEndian.Uint32(b[:]); got != want {
			t.Fatalf("step(%#x) = %#x, byte-wise %#x", w, got, want)
		}
	}
}

// TestFillMatchesReference compares the fast generator with the byte-wise
// definition for every width, for sizes around chunk boundaries and random
// sequence numbers (seeds).
func TestFillMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for width := 32; width <= MaxWidth; width += 32 {
		wb := width / 8
		for _, words := range []int{3, 4, 33, 34, 35, 65, 66, 67, 100, 130, 600} {
			size := words * wb
			for _, seq := range []uint32{0, 1, 0xffffffff, rng.Uint32(), rng.Uint32()} {
				got := make([]byte, size)
				for i := range got {
					got[i] = 0xa5 // Fill must write every byte
				}
				if err := Fill(got, seq, width); err != nil {
					t.Fatalf("width %d size %d: %v", width, size, err)
				}
				want := refFrame(seq, size, wb)
				if !bytes.Equal(got, want) {
					i := firstDiff(got, want)
					t.Fatalf("width %d, %d words, seq %#x: first difference at byte %d (word %d): got %x want %x",
						width, words, seq, i, i/wb, got[i/wb*wb:i/wb*wb+wb], want[i/wb*wb:i/wb*wb+wb])
				}
				if _, err := Verify(want, width); err != nil {
					t.Fatalf("width %d, %d words, seq %#x: Verify of reference frame: %v", width, words, seq, err)
				}
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
