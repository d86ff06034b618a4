package prbs

import (
	"bytes"
	"encoding/binary"
	"testing"

	"udpstream.dev/engine"
)

// switchRig is a generator feeding a checker with payload checking on, one
// with it off, and a recorder.
type switchRig struct {
	g       *Generator
	on, off *Checker
	rec     *recorder
}

func newSwitchRig(t *testing.T, width int, pool *engine.Pool) switchRig {
	t.Helper()
	r := switchRig{rec: &recorder{}}
	r.g, _ = NewGenerator(width)
	r.on, _ = NewChecker(width)
	r.off, _ = NewChecker(width)
	r.off.SetCheckPayload(false)
	r.g.SetPool(pool)
	engine.Connect(r.g, r.on)
	engine.Connect(r.g, r.off)
	engine.Connect(r.g, r.rec)
	return r
}

// TestGenPayloadOff: with payload generation off only words 0 and 1 are
// written. The frames pass a checker that checks only headers and fail
// one that checks payloads.
func TestGenPayloadOff(t *testing.T) {
	for _, width := range []int{32, 64, 512} {
		wb := width / 8
		for _, fixed := range []int{0, 3*wb + 4} {
			pool := engine.NewPool()
			if fixed > 0 {
				pool, _ = engine.NewFixedPool(fixed, 256, 0)
			}
			r := newSwitchRig(t, width, pool)
			r.g.SetSequence(1) // frame 0's LFSR words are all zero
			r.g.SetGenPayload(false)
			const n = 5
			for range n {
				if err := r.g.GenFrame(40 * wb); err != nil {
					t.Fatal(err)
				}
			}
			if st := r.off.Stats(); st.Frames != n || st.Errors() != 0 {
				t.Fatalf("width %d: header-only checker: %+v, %v", width, st, r.off.FirstError())
			}
			if st := r.on.Stats(); st.PayloadErrors != n || st.Frames != 0 {
				t.Fatalf("width %d: payload checker: %+v", width, st)
			}
			for i, got := range r.rec.frames {
				want := refFrame(uint32(i+1), 40*wb, wb)
				if !bytes.Equal(got[:2*wb], want[:2*wb]) {
					t.Fatalf("width %d frame %d: header %x, want %x", width, i, got[:2*wb], want[:2*wb])
				}
			}
			// Back on: the frames are whole again.
			r.g.SetGenPayload(true)
			if err := r.g.GenFrame(40 * wb); err != nil {
				t.Fatal(err)
			}
			if st := r.on.Stats(); st.Frames != 1 || st.Errors() != n {
				t.Fatalf("width %d: payload generation back on: %+v, %v", width, st, r.on.FirstError())
			}
		}
	}
}

// TestGenPayloadOffLeavesBuffers: a payload that is not generated is not
// written either, which is what makes the switch cheap.
func TestGenPayloadOffLeavesBuffers(t *testing.T) {
	pool := engine.NewPool()
	g, _ := NewGenerator(32)
	g.SetGenPayload(false)
	f, _ := pool.AcceptReq(64, true)
	defer f.Release()
	f.SetPayload(64)
	f.WriteAt(bytes.Repeat([]byte{0xa5}, 64), 0)
	if err := g.FillFrame(f); err != nil {
		t.Fatal(err)
	}
	b, _ := f.Bytes()
	if binary.LittleEndian.Uint32(b[4:]) != 15 || !bytes.Equal(b[8:], bytes.Repeat([]byte{0xa5}, 56)) {
		t.Fatalf("frame %x", b)
	}
}

// TestSendCount: payload word i holds i, zero-padded, in contiguous and
// split frames; a payload checker rejects such frames and a header
// checker accepts them.
func TestSendCount(t *testing.T) {
	for _, width := range []int{32, 96} {
		wb := width / 8
		for _, fixed := range []int{0, 5*wb + 4} {
			pool := engine.NewPool()
			if fixed > 0 {
				pool, _ = engine.NewFixedPool(fixed, 256, 0)
			}
			r := newSwitchRig(t, width, pool)
			r.g.SetSendCount(true)
			r.g.SetSequence(7)
			const words = 75
			for range 2 {
				if err := r.g.GenFrame(words * wb); err != nil {
					t.Fatal(err)
				}
			}
			want := make([]byte, words*wb)
			for i := range words {
				binary.LittleEndian.PutUint32(want[i*wb:], uint32(i))
			}
			for k, got := range r.rec.frames {
				binary.LittleEndian.PutUint32(want, uint32(7+k))
				binary.LittleEndian.PutUint32(want[wb:], words-1)
				if !bytes.Equal(got, want) {
					t.Fatalf("width %d fixed %d frame %d: differs from a count frame at byte %d", width, fixed, k, firstDiff(got, want))
				}
			}
			if st := r.off.Stats(); st.Frames != 2 || st.Errors() != 0 {
				t.Fatalf("header checker: %+v", st)
			}
			if st := r.on.Stats(); st.PayloadErrors != 2 {
				t.Fatalf("payload checker: %+v", st)
			}
		}
	}
}

// TestSendCountWithoutPayload: with payload generation off, sendCount has
// no effect (as in Rogue): nothing after the header is written.
func TestSendCountWithoutPayload(t *testing.T) {
	g, _ := NewGenerator(32)
	g.SetSendCount(true)
	g.SetGenPayload(false)
	rec := &recorder{}
	engine.Connect(g, rec)
	if err := g.GenFrame(64); err != nil {
		t.Fatal(err)
	}
	if got := rec.frames[0]; !bytes.Equal(got[8:], make([]byte, 56)) {
		t.Fatalf("payload written: %x", got)
	}
}

// TestGenerateModesDoNotAllocate pins the per-frame cost of the payload
// modes and of custom taps, on the generator and on the checker.
func TestGenerateModesDoNotAllocate(t *testing.T) {
	for _, m := range []struct {
		name           string
		width          int
		taps           []int
		noPayload, cnt bool
		fixed          int
	}{
		{"nopayload", 32, nil, true, false, 0},
		{"count", 32, nil, false, true, 0},
		{"count-split", 64, nil, false, true, 500},
		{"taps", 32, []int{3, 31}, false, false, 0},
		{"wide-taps", 64, []int{1, 63}, false, false, 0},
		{"wide-taps-split", 64, []int{1, 63}, false, false, 500},
	} {
		pool, _ := engine.NewFixedPool(1472, 16, 0)
		if m.fixed > 0 {
			pool, _ = engine.NewFixedPool(m.fixed, 16, 0)
		}
		g, _ := NewGenerator(m.width)
		c, _ := NewChecker(m.width)
		if m.taps != nil {
			g.SetTaps(m.taps)
			c.SetTaps(m.taps)
		}
		c.SetCheckPayload(!m.noPayload && !m.cnt)
		g.SetGenPayload(!m.noPayload)
		g.SetSendCount(m.cnt)
		g.SetPool(pool)
		engine.Connect(g, c)
		allocs := testing.AllocsPerRun(200, func() {
			if err := g.GenFrame(1472); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per frame", m.name, allocs)
		}
		if st := c.Stats(); st.Errors() != 0 {
			t.Fatalf("%s: %+v, %v", m.name, st, c.FirstError())
		}
	}
}
