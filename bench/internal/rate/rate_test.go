package rate

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		bits float64
		pps  float64
	}{
		{"0", 0, 0},
		{"max", 0, 0},
		{"1G", 1e9, 0},
		{"500M", 500e6, 0},
		{"2.5Gbit/s", 2.5e9, 0},
		{"10kbps", 10e3, 0},
		{"1000", 1000, 0},
		{"100kpps", 0, 100e3},
		{"1Mpps", 0, 1e6},
		{"250pps", 0, 250},
	}
	for _, c := range cases {
		r, err := Parse(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if r.BitsPerSecond != c.bits || r.DatagramsPerSecond != c.pps {
			t.Fatalf("%q: got %+v", c.in, r)
		}
		if back, err := Parse(r.String()); err != nil || back != r {
			t.Fatalf("%q: String %q parses back to %+v, %v", c.in, r.String(), back, err)
		}
	}
	for _, bad := range []string{"fast", "-1G", "1X", "G", "NaN", "1e400"} {
		if _, err := Parse(bad); err == nil {
			t.Fatalf("%q parsed", bad)
		}
	}
}

func TestPerSecond(t *testing.T) {
	if got := (Rate{BitsPerSecond: 8 * 1000 * 1000}).PerSecond(1000); got != 1000 {
		t.Fatalf("1000-byte datagrams at 8 Mbit/s: %v/s", got)
	}
	if got := (Rate{DatagramsPerSecond: 5}).PerSecond(1000); got != 5 {
		t.Fatalf("pps: %v", got)
	}
	if !(Rate{}).Unlimited() || (Rate{}).PerSecond(100) != 0 {
		t.Fatal("zero rate is not unlimited")
	}
}

func TestPacerUnlimited(t *testing.T) {
	p := NewPacer(time.Now(), 0)
	if n, w := p.Next(time.Now(), 1e9, 64); n != 64 || w != 0 {
		t.Fatalf("unlimited: %d %v", n, w)
	}
}

func TestPacerSpreads(t *testing.T) {
	start := time.Unix(1000, 0)
	p := NewPacer(start, 1000) // one per millisecond
	if n, _ := p.Next(start, 0, 64); n != 1 {
		t.Fatalf("at start: %d allowed, want 1", n)
	}
	n, w := p.Next(start.Add(100*time.Microsecond), 1, 64)
	if n != 0 || w != 900*time.Microsecond {
		t.Fatalf("early: n=%d wait=%v", n, w)
	}
	// Behind by 10 ms: catch up, at most limit at a time.
	if n, _ := p.Next(start.Add(10*time.Millisecond), 1, 4); n != 4 {
		t.Fatalf("catch-up: %d", n)
	}
	if n, _ := p.Next(start.Add(10*time.Millisecond), 5, 64); n != 6 {
		t.Fatalf("catch-up rest: %d, want 6", n)
	}
	// Over a simulated second the pacer admits the target count.
	sent := uint64(0)
	for now := start; now.Before(start.Add(time.Second)); now = now.Add(37 * time.Microsecond) {
		n, _ := p.Next(now, sent, 8)
		sent += uint64(n)
	}
	if sent < 999 || sent > 1001 {
		t.Fatalf("one second at 1000/s admitted %d", sent)
	}
}

func BenchmarkPacerNext(b *testing.B) {
	p := NewPacer(time.Now(), 1e6)
	b.ReportAllocs()
	sent := uint64(0)
	for b.Loop() {
		n, _ := p.Next(time.Now(), sent, 64)
		sent += uint64(n)
	}
}
