package prbs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"udpstream.dev/engine"
)

// refFrameTaps is refFrame with other taps.
func refFrameTaps(seq uint32, size, wb int, taps []int) []byte {
	saved := refTaps
	refTaps = taps
	defer func() { refTaps = saved }()
	return refFrame(seq, size, wb)
}

func TestJumpCustomTaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, mask := range []uint32{1<<3 | 1<<31, 1<<0 | 1<<5 | 1<<17 | 1<<28, 1 << 30} {
		jt := buildJumpTable(mask)
		for range 2000 {
			w := rng.Uint32()
			want := w
			for range chunkWords {
				want = stepMask(want, mask)
			}
			if got := jt.jump(w); got != want {
				t.Fatalf("mask %#x: jump(%#x) = %#x, 32 steps give %#x", mask, w, got, want)
			}
		}
	}
}

// tapCase is a width and taps that the generator and checker must agree
// on with the byte-wise definition.
type tapCase struct {
	width int
	taps  []int
}

var tapCases = []tapCase{
	{32, []int{3, 31}},               // fast path, own jump table
	{32, []int{0, 5, 17, 28}},        // tap 0 and no top bit
	{64, []int{2, 6, 31, 1}},         // default taps, another order
	{64, []int{1, 2, 6, 63}},         // a tap above bit 31: word at a time
	{96, []int{5, 40, 95}},           //
	{512, []int{1, 2, 6, 31, 300}},   // tap 300 acts from word 290 on
	{512, []int{0, 7, 8, 255, 511}},  //
	{128, []int{33, 34, 38, 63, 64}}, // no tap in the low limb
}

// TestCustomTapsRoundTrip sends frames with custom taps through a
// generator to a checker with the same taps, from contiguous and split
// frames, and compares them with the byte-wise definition. A checker with
// the default taps must reject some of them (a tap high in a wide word
// acts only in long frames), and the same frames must differ from those
// of the default taps.
func TestCustomTapsRoundTrip(t *testing.T) {
	for _, tc := range tapCases {
		wb := tc.width / 8
		for _, fixed := range []int{0, 4*wb + 4} {
			pool := engine.NewPool()
			if fixed > 0 {
				pool, _ = engine.NewFixedPool(fixed, 256, 0)
			}
			g, _ := NewGenerator(tc.width)
			same, _ := NewChecker(tc.width)
			dflt, _ := NewChecker(tc.width)
			if err := g.SetTaps(tc.taps); err != nil {
				t.Fatal(err)
			}
			if err := same.SetTaps(tc.taps); err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			g.SetPool(pool)
			engine.Connect(g, same)
			engine.Connect(g, dflt)
			engine.Connect(g, rec)
			const first = 0xdeadbeef // high bits set: tap 31 matters at once
			g.SetSequence(first)
			sizes := []int{10 * wb, 40 * wb, 70 * wb, 400 * wb}
			for _, size := range sizes {
				if err := g.GenFrame(size); err != nil {
					t.Fatalf("%+v: %v", tc, err)
				}
			}
			if st := same.Stats(); st.Frames != uint64(len(sizes)) || st.Errors() != 0 {
				t.Fatalf("%+v fixed %d: same taps: %+v, %v", tc, fixed, st, same.FirstError())
			}
			// The default taps in another order are the default taps.
			isDefault := slices.Equal(slices.Sorted(slices.Values(tc.taps)), DefaultTaps)
			if st := dflt.Stats(); (st.PayloadErrors == 0) != isDefault {
				t.Fatalf("%+v fixed %d: checker with default taps: %+v", tc, fixed, st)
			}
			differ := 0
			for i, got := range rec.frames {
				seq, size := uint32(first+i), sizes[i]
				if want := refFrameTaps(seq, size, wb, tc.taps); !bytes.Equal(got, want) {
					t.Fatalf("%+v fixed %d: frame %d differs from the definition at byte %d", tc, fixed, i, firstDiff(got, want))
				}
				if !bytes.Equal(got, refFrame(seq, size, wb)) {
					differ++
				}
			}
			if (differ == 0) != isDefault {
				t.Fatalf("%+v: %d frames differ from those of the default taps", tc, differ)
			}
		}
	}
}

// TestCustomTapsFlips flips random bytes of custom-taps frames and expects
// a checker with the same taps to count each one, in contiguous and split
// frames.
func TestCustomTapsFlips(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	split, _ := engine.NewFixedPool(100, 512, 0)
	for _, tc := range tapCases {
		wb := tc.width / 8
		good := refFrameTaps(9, 40*wb, wb, tc.taps)
		for range 100 {
			pos := rng.IntN(len(good))
			bad := bytes.Clone(good)
			bad[pos] ^= 1 << (pos % 8)
			for _, pool := range []*engine.Pool{engine.NewPool(), split} {
				c, _ := NewChecker(tc.width)
				c.SetTaps(tc.taps)
				feed(t, c, pool, bad)
				if c.Stats().Errors() != 1 {
					t.Fatalf("%+v: byte %d flipped: %+v", tc, pos, c.Stats())
				}
			}
		}
	}
}

func TestSetTapsBadInput(t *testing.T) {
	g, _ := NewGenerator(64)
	c, _ := NewChecker(64)
	for _, taps := range [][]int{nil, {}, {-1, 3}, {64}, {1, 2, 2}, {1000}} {
		if err := g.SetTaps(taps); !errors.Is(err, ErrTaps) {
			t.Fatalf("Generator.SetTaps(%v): %v", taps, err)
		}
		if err := c.SetTaps(taps); !errors.Is(err, ErrTaps) {
			t.Fatalf("Checker.SetTaps(%v): %v", taps, err)
		}
	}
	if !slices.Equal(g.Taps(), DefaultTaps) || !slices.Equal(c.Taps(), DefaultTaps) {
		t.Fatalf("taps changed by refused calls: %v, %v", g.Taps(), c.Taps())
	}
	// A tap above the new width refuses the width, and changes nothing.
	if err := g.SetTaps([]int{1, 63}); err != nil {
		t.Fatal(err)
	}
	if err := g.SetWidth(32); !errors.Is(err, ErrTaps) {
		t.Fatalf("SetWidth(32) with tap 63: %v", err)
	}
	if g.Width() != 64 {
		t.Fatalf("width %d after a refused SetWidth", g.Width())
	}
	// Taps returns a copy.
	g.Taps()[0] = 5
	if !slices.Equal(g.Taps(), []int{1, 63}) {
		t.Fatalf("Taps() shares its slice: %v", g.Taps())
	}
}

// TestSetWidth changes the width of a generator and a checker between
// frames and expects every frame to pass, and a checker left at the old
// width to fail the new frames.
func TestSetWidth(t *testing.T) {
	g, _ := NewGenerator(32)
	c, _ := NewChecker(32)
	old, _ := NewChecker(32)
	rec := &recorder{}
	engine.Connect(g, c)
	engine.Connect(g, old)
	engine.Connect(g, rec)
	g.SetSequence(1)
	if err := g.GenFrame(768); err != nil {
		t.Fatal(err)
	}
	for _, x := range []interface{ SetWidth(int) error }{g, c} {
		if err := x.SetWidth(256); err != nil {
			t.Fatal(err)
		}
		if err := x.SetWidth(48); !errors.Is(err, ErrWidth) {
			t.Fatalf("SetWidth(48): %v", err)
		}
	}
	if g.Width() != 256 || c.Width() != 256 {
		t.Fatalf("widths %d, %d", g.Width(), c.Width())
	}
	if err := g.GenFrame(768); err != nil {
		t.Fatal(err)
	}
	if err := g.GenFrame(100); !errors.Is(err, ErrSize) {
		t.Fatalf("GenFrame(100) at width 256: %v", err)
	}
	if st := c.Stats(); st.Frames != 2 || st.Errors() != 0 {
		t.Fatalf("checker following the width: %+v, %v", st, c.FirstError())
	}
	if st := old.Stats(); st.Frames != 1 || st.Errors() != 1 {
		t.Fatalf("checker left at width 32: %+v", st)
	}
	if want := refFrame(2, 768, 32); !bytes.Equal(rec.frames[1], want) {
		t.Fatalf("width-256 frame differs from the definition at byte %d", firstDiff(rec.frames[1], want))
	}
	if n := binary.LittleEndian.Uint32(rec.frames[1][32:]); n != 768/32-1 {
		t.Fatalf("word 1 = %d", n)
	}
}
