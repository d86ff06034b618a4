package seqtrack

import (
	"math/rand/v2"
	"testing"
)

func feed(t *Tracker, seqs ...uint64) {
	for _, s := range seqs {
		t.Observe(s)
	}
}

func TestInOrder(t *testing.T) {
	var tr Tracker
	for i := range uint64(1000) {
		tr.Observe(i)
	}
	if tr.Received() != 1000 || tr.Missing() != 0 || tr.Late() != 0 {
		t.Fatalf("received %d missing %d late %d", tr.Received(), tr.Missing(), tr.Late())
	}
	if h, ok := tr.Highest(); !ok || h != 999 {
		t.Fatalf("highest %d %v", h, ok)
	}
}

func TestGapsAndLateArrivals(t *testing.T) {
	var tr Tracker
	feed(&tr, 0, 1, 4, 5, 2, 9)
	// Skipped 2,3 then 6,7,8; 2 arrived late.
	if tr.Missing() != 4 || tr.Late() != 1 || tr.Received() != 6 || tr.Duplicates() != 0 {
		t.Fatalf("missing %d late %d received %d dup %d", tr.Missing(), tr.Late(), tr.Received(), tr.Duplicates())
	}
	// A duplicate while gaps are open is indistinguishable from a late
	// arrival without per-datagram state: it fills a gap.
	feed(&tr, 9)
	if tr.Late() != 2 || tr.Missing() != 3 || tr.Duplicates() != 0 {
		t.Fatalf("duplicate with gaps open: late %d missing %d dup %d", tr.Late(), tr.Missing(), tr.Duplicates())
	}
}

func TestDuplicateWithoutGaps(t *testing.T) {
	var tr Tracker
	feed(&tr, 0, 1, 2, 2)
	if tr.Duplicates() != 1 || tr.Late() != 1 || tr.Missing() != 0 || tr.Received() != 4 {
		t.Fatalf("dup %d late %d missing %d received %d", tr.Duplicates(), tr.Late(), tr.Missing(), tr.Received())
	}
}

func TestStartsMidStream(t *testing.T) {
	var tr Tracker
	feed(&tr, 500, 501, 503)
	if tr.Missing() != 1 {
		t.Fatalf("missing %d, want 1 (only 502)", tr.Missing())
	}
	tr.Reset()
	feed(&tr, 0, 1)
	if tr.Missing() != 0 || tr.Received() != 2 {
		t.Fatalf("after reset: missing %d received %d", tr.Missing(), tr.Received())
	}
}

// The tracker's running estimate must equal highest+1-received for any
// permutation-with-drops of a stream that starts at 0.
func TestMatchesDefinitionRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + r.IntN(500)
		var seqs []uint64
		for i := range n {
			if i == 0 || r.IntN(10) != 0 {
				seqs = append(seqs, uint64(i))
			}
		}
		// Local reordering: swap neighbours now and then.
		for i := 1; i < len(seqs); i++ {
			if i > 1 && r.IntN(8) == 0 {
				seqs[i], seqs[i-1] = seqs[i-1], seqs[i]
			}
		}
		var tr Tracker
		var highest uint64
		for _, s := range seqs {
			tr.Observe(s)
			highest = max(highest, s)
		}
		want := highest + 1 - uint64(len(seqs))
		if seqs[0] != 0 {
			continue // swapped away from the front; the definition shifts
		}
		if tr.Missing() != want {
			t.Fatalf("trial %d: missing %d, want %d (seqs %v)", trial, tr.Missing(), want, seqs)
		}
	}
}

func TestObserve32Wraps(t *testing.T) {
	var tr Tracker
	tr.Observe32(0xffff_fffe)
	tr.Observe32(0xffff_ffff)
	tr.Observe32(1) // 0 lost across the wrap
	if tr.Missing() != 1 || tr.Late() != 0 {
		t.Fatalf("missing %d late %d", tr.Missing(), tr.Late())
	}
	if h, _ := tr.Highest(); h != 1<<32+1 {
		t.Fatalf("highest %#x", h)
	}
	tr.Observe32(0) // the lost one arrives late
	if tr.Missing() != 0 || tr.Late() != 1 {
		t.Fatalf("after late 0: missing %d late %d", tr.Missing(), tr.Late())
	}
}

func TestLostAndPercent(t *testing.T) {
	if Lost(100, 90) != 10 || Lost(90, 100) != 0 {
		t.Fatal("Lost")
	}
	if Percent(1, 4) != 25 || Percent(1, 0) != 0 {
		t.Fatal("Percent")
	}
}

func BenchmarkObserve(b *testing.B) {
	var tr Tracker
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tr.Observe(uint64(i))
	}
}

// A Rogue generator started again at 0 is a restart: not 1000 late
// datagrams, and a gap after it is still found.
func TestObserve32Restart(t *testing.T) {
	var tr Tracker
	for s := range uint32(1000) {
		tr.Observe32(s)
	}
	for s := range uint32(1000) {
		if s != 500 {
			tr.Observe32(s)
		}
	}
	if tr.Restarts() != 1 || tr.Late() != 0 || tr.Missing() != 1 || tr.Received() != 1999 {
		t.Fatalf("restarts %d late %d missing %d received %d", tr.Restarts(), tr.Late(), tr.Missing(), tr.Received())
	}
	if h, _ := tr.Highest(); h != 999 || tr.Span() != 2000 {
		t.Fatalf("highest %d span %d", h, tr.Span())
	}
	tr.Reset()
	tr.Observe32(0)
	tr.Observe32(1)
	tr.Observe32(0) // a restart after one datagram
	tr.Observe32(0) // a run's first 0 repeated: a duplicate
	if tr.Restarts() != 1 || tr.Duplicates() != 1 || tr.Span() != 3 {
		t.Fatalf("restarts %d duplicates %d span %d", tr.Restarts(), tr.Duplicates(), tr.Span())
	}
}

// Near a wrap of the 32-bit counter, 0 is the stream's own number.
func TestObserve32WrapIsNoRestart(t *testing.T) {
	var tr Tracker
	tr.Observe32(0xffff_fff0)
	tr.Observe32(0) // 15 lost across the wrap
	if tr.Restarts() != 0 || tr.Missing() != 15 {
		t.Fatalf("restarts %d missing %d", tr.Restarts(), tr.Missing())
	}
	if tr.Span() != 1<<32+1 {
		t.Fatalf("span %d", tr.Span())
	}
}

func TestSpan(t *testing.T) {
	var tr Tracker
	if tr.Span() != 0 {
		t.Fatal("span of nothing")
	}
	feed(&tr, 0, 1, 5, 3)
	if tr.Span() != 6 {
		t.Fatalf("span %d, want 6", tr.Span())
	}
}
