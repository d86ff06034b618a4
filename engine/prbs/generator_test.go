package prbs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"udpstream.dev/engine"
)

// TestWidthsRoundTrip runs generator -> checker for every width, with
// contiguous and split frames, then corrupts frames and expects errors.
func TestWidthsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for width := 64; width <= MaxWidth; width += 32 {
		wb := width / 8
		for _, fixed := range []int{0, 4 * wb / 3} {
			g, err := NewGenerator(width)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := NewChecker(width)
			rec := &recorder{}
			pool := engine.NewPool()
			if fixed > 0 {
				pool, _ = engine.NewFixedPool(fixed, 256, 0)
			}
			g.SetPool(pool)
			engine.Connect(g, c)
			engine.Connect(g, rec)
			sizes := []int{3 * wb, 34 * wb, 35 * wb, 97 * wb, rng.IntN(200)*wb + 3*wb}
			for _, size := range sizes {
				if err := g.GenFrame(size); err != nil {
					t.Fatalf("width %d: GenFrame(%d): %v", width, size, err)
				}
			}
			st := c.Stats()
			if st.Errors() != 0 || st.Frames != uint64(len(sizes)) {
				t.Fatalf("width %d fixed %d: %+v, %v", width, fixed, st, c.FirstError())
			}
			for i, got := range rec.frames {
				size := sizes[i]
				if want := refFrame(uint32(i), size, wb); !bytes.Equal(got, want) {
					t.Fatalf("width %d frame %d differs from the definition at byte %d", width, i, firstDiff(got, want))
				}
				if n := binary.LittleEndian.Uint32(got[wb:]); int(n) != size/wb-1 {
					t.Fatalf("width %d: word 1 = %d for %d words", width, n, size/wb)
				}
				bad := bytes.Clone(got)
				pos := rng.IntN(size)
				bad[pos] ^= byte(1 << rng.IntN(8))
				if _, err := Verify(bad, width); err == nil {
					t.Fatalf("width %d: flipped byte %d not detected", width, pos)
				}
				cc, _ := NewChecker(width)
				feed(t, cc, pool, bad)
				if cc.Stats().Errors() != 1 {
					t.Fatalf("width %d: checker missed flipped byte %d: %+v", width, pos, cc.Stats())
				}
			}
			if pool.AllocCount() != 0 {
				t.Fatalf("width %d: %d buffers not returned", width, pool.AllocCount())
			}
		}
	}
}

func TestGenFrameBadSize(t *testing.T) {
	g, _ := NewGenerator(64)
	engine.Connect(g, &engine.BaseSlave{})
	for _, size := range []int{0, 16, 23, 100, -8} {
		if err := g.GenFrame(size); !errors.Is(err, ErrSize) {
			t.Fatalf("GenFrame(%d): %v", size, err)
		}
	}
	if g.TxFrames() != 0 {
		t.Fatal("failed GenFrame counted")
	}
	g.Close()
	if err := g.GenFrame(64); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("GenFrame on a closed generator: %v", err)
	}
}

func TestFillFrame(t *testing.T) {
	g, _ := NewGenerator(32)
	g.SetSequence(41)

	// Payload 0: the whole size is used.
	split, _ := engine.NewFixedPool(50, 8, 16)
	f, _ := split.AcceptReq(200, true)
	defer f.Release()
	if err := g.FillFrame(f); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, f.Payload())
	f.ReadAt(got, 0)
	if want := refFrame(41, 200, 4); !bytes.Equal(got, want) {
		t.Fatalf("split FillFrame differs at byte %d", firstDiff(got, want))
	}

	// A payload already set is the frame size.
	h, _ := engine.NewPool().AcceptReq(1000, true)
	defer h.Release()
	h.SetPayload(96)
	if err := g.FillFrame(h); err != nil {
		t.Fatal(err)
	}
	b, _ := h.Bytes()
	if want := refFrame(42, 96, 4); !bytes.Equal(b, want) {
		t.Fatalf("FillFrame differs at byte %d", firstDiff(b, want))
	}
	h.SetPayload(98)
	if err := g.FillFrame(h); !errors.Is(err, ErrSize) {
		t.Fatalf("FillFrame of 98 bytes: %v", err)
	}
	h.Release()
	if err := g.FillFrame(h); err == nil {
		t.Fatal("FillFrame of a released frame succeeded")
	}
	if g.TxFrames() != 2 || g.TxBytes() != 296 {
		t.Fatalf("tx %d frames %d bytes", g.TxFrames(), g.TxBytes())
	}
}

func TestFillBadSize(t *testing.T) {
	for _, n := range []int{0, 8, 13, 1470} {
		if err := Fill(make([]byte, n), 0, 32); !errors.Is(err, ErrSize) {
			t.Fatalf("Fill(%d bytes): %v", n, err)
		}
	}
	if err := Fill(make([]byte, 96), 0, 512); !errors.Is(err, ErrSize) {
		t.Fatalf("Fill(96 bytes, width 512): %v", err)
	}
}

// seqSlave records the sequence numbers it sees, from any goroutine.
type seqSlave struct {
	mu   sync.Mutex
	seqs []uint32
}

func (s *seqSlave) AcceptFrame(f engine.Frame) {
	var b [4]byte
	f.ReadAt(b[:], 0)
	s.mu.Lock()
	s.seqs = append(s.seqs, binary.LittleEndian.Uint32(b[:]))
	s.mu.Unlock()
}

func TestGeneratorConcurrentSequences(t *testing.T) {
	g, _ := NewGenerator(32)
	rec := &seqSlave{}
	engine.Connect(g, rec)
	const workers, each = 4, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if err := g.GenFrame(64); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(rec.seqs)
	for i, s := range rec.seqs {
		if s != uint32(i) {
			t.Fatalf("sequence %d missing or repeated (found %d)", i, s)
		}
	}
	if len(rec.seqs) != workers*each || g.TxFrames() != workers*each {
		t.Fatalf("%d frames seen, %d counted", len(rec.seqs), g.TxFrames())
	}
}

// TestWideEveryByte flips every byte of a multi-chunk wide frame, where
// most limbs are checked against earlier words rather than computed, and
// expects Verify and a split-frame Checker to catch each one.
func TestWideEveryByte(t *testing.T) {
	split, _ := engine.NewFixedPool(100, 512, 0)
	for _, width := range []int{64, 96, 512} {
		wb := width / 8
		good := frameBytes(t, 77, 70*wb, width)
		for pos := range good {
			bad := bytes.Clone(good)
			bad[pos] ^= 1 << (pos % 8)
			if _, err := Verify(bad, width); err == nil {
				t.Fatalf("width %d: Verify missed byte %d", width, pos)
			}
			if pos%7 != 0 {
				continue // the split path is slower; sample it
			}
			c, _ := NewChecker(width)
			feed(t, c, split, bad)
			if c.Stats().Errors() != 1 {
				t.Fatalf("width %d: split checker missed byte %d: %+v", width, pos, c.Stats())
			}
		}
	}
}
