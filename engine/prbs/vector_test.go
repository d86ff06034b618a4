package prbs

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"udpstream.dev/engine"
)

// withAVX2 runs f with the vector paths on or off (when the CPU has them).
func withAVX2(t testing.TB, on bool, f func()) {
	saved := haveAVX2
	haveAVX2 = on && saved
	defer func() { haveAVX2 = saved }()
	f()
}

// verifyBoth returns Verify's error text with the vector paths and with
// the portable ones.
func verifyBoth(t testing.TB, frame []byte, width int) (vec, portable string) {
	text := func() string {
		if _, err := Verify(frame, width); err != nil {
			return err.Error()
		}
		return ""
	}
	withAVX2(t, true, func() { vec = text() })
	withAVX2(t, false, func() { portable = text() })
	return vec, portable
}

// checkShape compares Fill with the bit-serial reference for one frame,
// checks that Verify passes it on both paths, then flips bit in word
// (>= 2) and checks that both paths name the same first bad word.
func checkShape(t testing.TB, seq uint32, words, width, word, bit int) {
	wb := width / 8
	size := words * wb
	want := refFrame(seq, size, wb)
	for _, on := range []bool{true, false} {
		got := make([]byte, size)
		for i := range got {
			got[i] = 0x5a
		}
		withAVX2(t, on, func() {
			if err := Fill(got, seq, width); err != nil {
				t.Fatalf("width %d, %d words: %v", width, words, err)
			}
		})
		if i := firstDiff(got, want); i < size {
			t.Fatalf("vector paths %v, width %d, %d words, seq %#x: Fill differs from the reference at byte %d (word %d)",
				on, width, words, seq, i, i/wb)
		}
	}
	if vec, portable := verifyBoth(t, want, width); vec != "" || portable != "" {
		t.Fatalf("width %d, %d words, seq %#x: reference frame fails: %q / %q", width, words, seq, vec, portable)
	}
	want[word*wb+bit/8] ^= 1 << (bit % 8)
	vec, portable := verifyBoth(t, want, width)
	if vec == "" || vec != portable {
		t.Fatalf("width %d, %d words, seq %#x, bit %d of word %d flipped: vector %q, portable %q",
			width, words, seq, bit, word, vec, portable)
	}
}

// TestVectorMatchesReference covers every width, sizes around chunk
// boundaries and random ones, random seeds, and a flipped bit anywhere in
// the LFSR words.
func TestVectorMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	sizes := []int{3, 4, 9, 10, 33, 34, 35, 36, 65, 66, 67, 97, 130, 131}
	for range 6 {
		sizes = append(sizes, 3+rng.IntN(600))
	}
	for width := 32; width <= MaxWidth; width += 32 {
		for _, words := range sizes {
			for range 3 {
				word := 2 + rng.IntN(words-2)
				checkShape(t, rng.Uint32(), words, width, word, rng.IntN(width))
			}
		}
	}
}

// TestVectorLastWords flips each bit of the last words of frames whose
// last chunk is partial, which the vector paths check again from an
// earlier start.
func TestVectorLastWords(t *testing.T) {
	for _, width := range []int{32, 64, 128, 256, 512} {
		for _, words := range []int{5, 40, 66, 95} {
			for word := max(2, words-3); word < words; word++ {
				for bit := 0; bit < width; bit += 7 {
					checkShape(t, 0xdeadbeef, words, width, word, bit)
				}
			}
		}
	}
}

// TestVectorNotAllocating checks that Fill and Verify do not allocate on
// the vector paths, for every width they handle.
func TestVectorNotAllocating(t *testing.T) {
	for _, width := range []int{32, 64, 128, 256, 512} {
		buf := make([]byte, 8960)
		if n := testing.AllocsPerRun(50, func() {
			Fill(buf, 7, width)
			if _, err := Verify(buf, width); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("width %d: %v allocations per frame", width, n)
		}
	}
}

// FuzzVector compares both paths with the bit-serial reference for the
// fuzzer's seed, width, size and flipped bit.
func FuzzVector(f *testing.F) {
	f.Add(uint32(0), uint8(0), uint16(366), uint32(12345))
	f.Add(uint32(0xffffffff), uint8(1), uint16(182), uint32(99))
	f.Add(uint32(1), uint8(15), uint16(21), uint32(7))
	f.Add(uint32(42), uint8(7), uint16(40), uint32(1<<20))
	f.Fuzz(func(t *testing.T, seq uint32, w uint8, n uint16, flip uint32) {
		width := 32 * (1 + int(w%16))
		words := 3 + int(n%700)
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], flip)
		word := 2 + int(flip%uint32(words-2))
		bit := int(b[3]) * width / 256
		checkShape(t, seq, words, width, word, bit)
	})
}

// TestVectorSplitFrames checks frames spread over 100-byte buffers, which
// are filled and checked a chunk at a time through a stack buffer: the
// Generator's frames must equal the reference on both paths, and a
// flipped bit must be reported the same way by both.
func TestVectorSplitFrames(t *testing.T) {
	pool, err := engine.NewFixedPool(100, 256, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(23, 24))
	for _, width := range []int{32, 64, 128, 256, 512} {
		wb := width / 8
		for _, words := range []int{3, 31, 34, 67, 140} {
			want := refFrame(0, words*wb, wb)
			word := 2 + rng.IntN(words-2)
			bit := rng.IntN(width)
			var texts [2]string
			for i, on := range []bool{true, false} {
				withAVX2(t, on, func() {
					g, _ := NewGenerator(width)
					f, err := pool.AcceptReq(words*wb, true)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Release()
					if err := f.SetPayload(words * wb); err != nil {
						t.Fatal(err)
					}
					if err := g.FillFrame(f); err != nil {
						t.Fatal(err)
					}
					got := make([]byte, words*wb)
					f.ReadAt(got, 0)
					if i := firstDiff(got, want); i < len(got) {
						t.Fatalf("vector paths %v, width %d, %d words: split frame differs at byte %d", on, width, words, i)
					}
					bad := append([]byte(nil), want...)
					bad[word*wb+bit/8] ^= 1 << (bit % 8)
					c, _ := NewChecker(width)
					feed(t, c, pool, bad)
					if st := c.Stats(); st.PayloadErrors != 1 {
						t.Fatalf("vector paths %v, width %d: stats %+v", on, width, st)
					}
					texts[i] = c.FirstError().Error()
				})
			}
			if texts[0] != texts[1] {
				t.Fatalf("width %d, %d words, bit %d of word %d: vector %q, portable %q", width, words, bit, word, texts[0], texts[1])
			}
		}
	}
}

// TestVectorChunksMatchPortable compares the vector fill and check with
// their chunk-at-a-time Go form on random words before the body.
func TestVectorChunksMatchPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, width := range []int{32, 64, 128, 256, 512} {
		p, _ := defaultPattern(width)
		if !vecWidth(p) {
			t.Skip("no vector paths on this CPU")
		}
		wb := width / 8
		for range 20 {
			prev := make([]byte, wb)
			for i := range prev {
				prev[i] = byte(rng.Uint32())
			}
			n := 1 + rng.IntN(200)
			a, b := make([]byte, n*wb), make([]byte, n*wb)
			vecFill(a, prev, p)
			fillChunks(b, prev, p)
			if i := firstDiff(a, b); i < len(a) {
				t.Fatalf("width %d, %d words: vector fill differs from fillChunks at byte %d", width, n, i)
			}
			a[rng.IntN(len(a))] ^= byte(1 + rng.IntN(255))
			// Both name the start of a chunk that holds the first bad word
			// (the vector path may start its last chunk earlier).
			x, y := vecCheck(a, prev, p), checkChunks(a, prev, p)
			if x == n || y == n {
				t.Fatalf("width %d, %d words: vecCheck %d, checkChunks %d: a difference missed", width, n, x, y)
			}
			ex, ey := locateChunk(a, prev, x, 2, p), locateChunk(a, prev, y, 2, p)
			if ex.Error() != ey.Error() {
				t.Fatalf("width %d, %d words: %v, against %v", width, n, ex, ey)
			}
		}
	}
}
