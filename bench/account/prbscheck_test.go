package account

import (
	"math/rand/v2"
	"strings"
	"testing"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// TestPRBSCheckFollowsRoguesRules feeds the same random stream of frames
// (in order, gaps, repeats, restarts at 0, corrupt payloads, wrong size
// words, sizes that are not whole words, the error field set; contiguous
// and split over several buffers) to the receiver's own check and to
// engine/prbs's Checker, Rogue's rules, and wants the same counts, plus a
// gap error for every frame Rogue rejects for its sequence alone whose
// payload is bad.
func TestPRBSCheckFollowsRoguesRules(t *testing.T) {
	small, err := engine.NewFixedPool(1024, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	big, err := engine.NewFixedPool(4096, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := prbs.NewChecker(report.PRBSWidth)
	if err != nil {
		t.Fatal(err)
	}
	var c prbsCheck
	rng := rand.New(rand.NewPCG(7, 11))
	seq := uint32(0)
	var corruptAfterGap uint64
	for i := range 3000 {
		seq = nextTestSeq(rng, seq)
		d, code, corrupt := randomPRBSDatagram(t, rng, seq)
		pool := big
		if rng.IntN(4) == 0 {
			pool = small // split over 1024-byte buffers when larger
		}
		f := frameOf(t, pool, d, code)
		before := rogue.Stats()
		rogue.AcceptFrame(f)
		after := rogue.Stats()
		data, err := f.Bytes()
		if err != nil {
			data = nil
		}
		_, got, v := c.check(f, data)
		f.Release()
		if after.SeqErrors != before.SeqErrors && corrupt {
			corruptAfterGap++
		}
		if v == prbsPassed && after.Frames == before.Frames || v != prbsPassed && after.Frames != before.Frames {
			t.Fatalf("frame %d (seq %d, %d bytes): verdict %d, Rogue's checker passed %d frames", i, seq, len(d), v, after.Frames-before.Frames)
		}
		if v != prbsBroken && got != seq {
			t.Fatalf("frame %d: sequence %d, want %d", i, got, seq)
		}
		seq++
	}
	checkSameCounts(t, &c, rogue.Stats(), corruptAfterGap)
}

// nextTestSeq is the sequence of the next test frame: mostly seq itself,
// sometimes after a gap, a repeat or a restart.
func nextTestSeq(rng *rand.Rand, seq uint32) uint32 {
	switch k := rng.IntN(20); {
	case k == 0:
		seq += uint32(1 + rng.IntN(5)) // a gap
	case k == 1:
		seq -= uint32(rng.IntN(3)) // a repeat or a late frame
	case k == 2:
		seq = 0 // the sender started again
	}
	return seq
}

// randomPRBSDatagram is a PRBS datagram of a random size with sequence
// seq, now and then broken: a flipped bit (corrupt), a wrong size word, a
// size that is not whole words, or an error code for its frame.
func randomPRBSDatagram(t *testing.T, rng *rand.Rand, seq uint32) (d []byte, code uint8, corrupt bool) {
	size := 12 + 4*rng.IntN(700)
	d = benchtest.PRBSDatagram(t, seq, size)
	switch k := rng.IntN(25); {
	case k == 0:
		d[8+rng.IntN(size-8)] ^= 1 << rng.IntN(8) // payload, or word 0 of the LFSR
		corrupt = true
	case k == 1:
		d[4]++ // size word
	case k == 2:
		d = d[:size-1-rng.IntN(3)] // not whole words
	case k == 3:
		code = 1
	}
	return d, code, corrupt
}

// frameOf is a frame from pool holding d, with error code if not 0.
func frameOf(t *testing.T, pool *engine.Pool, d []byte, code uint8) engine.Frame {
	f, err := pool.AcceptReq(len(d), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(d, 0); err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		if err := f.SetError(code); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// checkSameCounts fails unless c counted what Rogue's checker counted
// (st), and the stream exercised every rule.
func checkSameCounts(t *testing.T, c *prbsCheck, st prbs.CheckerStats, corruptAfterGap uint64) {
	t.Helper()
	if c.seqErrors.Load() != st.SeqErrors || c.payloadErrs.Load() != st.PayloadErrors ||
		c.sizeErrors.Load() != st.SizeErrors || c.frameErrors.Load() != st.FrameErrors || c.gapErrors.Load() != corruptAfterGap {
		t.Fatalf("seq %d payload %d size %d frame %d gap %d; Rogue's checker %+v, corrupt frames after a gap %d",
			c.seqErrors.Load(), c.payloadErrs.Load(), c.sizeErrors.Load(), c.frameErrors.Load(), c.gapErrors.Load(), st, corruptAfterGap)
	}
	if st.SeqErrors == 0 || st.PayloadErrors == 0 || st.SizeErrors == 0 || st.FrameErrors == 0 || corruptAfterGap == 0 {
		t.Fatalf("the stream did not exercise every rule: %+v, corrupt after a gap %d", st, corruptAfterGap)
	}
	if desc := c.firstError(); !strings.Contains(desc, "prbs") || strings.Contains(desc, "first failure of any kind") {
		t.Fatalf("first error %q, want an integrity failure", desc)
	}
}

// A receiver that saw only sequence verdicts names the first of them.
func TestPRBSCheckFirstErrorOfAnyKind(t *testing.T) {
	peer := benchtest.NewPeer(t)
	r, _ := NewReceiver(peer, peer, -1, true)
	if r.FirstPRBSError() != "" {
		t.Fatalf("first error %q before any frame", r.FirstPRBSError())
	}
	for _, s := range []uint32{1, 2, 5, 6} {
		benchtest.Deliver(t, peer.Pool, r, benchtest.PRBSDatagram(t, s, 64))
	}
	if r.PRBSErrors() != 0 || r.prbs.seqErrors.Load() != 1 {
		t.Fatalf("PRBS errors %d, sequence verdicts %d", r.PRBSErrors(), r.prbs.seqErrors.Load())
	}
	if desc := r.FirstPRBSError(); !strings.Contains(desc, "first failure of any kind: prbs: sequence 5, expected 3") {
		t.Fatalf("first error %q", desc)
	}
}
