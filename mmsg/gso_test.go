package mmsg

import "testing"

func TestGSOSegments(t *testing.T) {
	cases := []struct {
		seg, max, segs, want int
	}{
		{seg: 1472, max: MaxPayloadIPv4, segs: MaxGSOSegments, want: 44},
		{seg: 8972, max: MaxPayloadIPv4, segs: MaxGSOSegments, want: 7},
		{seg: 1452, max: MaxPayloadIPv6, segs: MaxGSOSegments, want: 45},
		{seg: 100, max: MaxPayloadIPv4, segs: MaxGSOSegments, want: 64},
		{seg: 100, max: MaxPayloadIPv4, segs: MaxGSOSegmentsLimit, want: 128},
		{seg: 1, max: MaxPayloadIPv4, segs: MaxGSOSegments, want: 64},
		{seg: MaxPayloadIPv4, max: MaxPayloadIPv4, segs: MaxGSOSegments, want: 1},
		{seg: MaxPayloadIPv4 + 1, max: MaxPayloadIPv4, segs: MaxGSOSegments, want: 0},
		{seg: 1472, max: 16 * 1024, segs: MaxGSOSegments, want: 11},
		{seg: 0, max: MaxPayloadIPv4, segs: MaxGSOSegments, want: 0},
		{seg: -1, max: MaxPayloadIPv4, segs: MaxGSOSegments, want: 0},
		{seg: 1472, max: MaxPayloadIPv4, segs: 0, want: 0},
		{seg: maxSegmentSize + 1, max: 1 << 20, segs: 1, want: 0},
	}
	for _, c := range cases {
		if got := GSOSegments(c.seg, c.max, c.segs); got != c.want {
			t.Errorf("GSOSegments(%d, %d, %d) = %d, want %d", c.seg, c.max, c.segs, got, c.want)
		}
	}
}

// gsoRun returns how many of the leading datagrams of lens one GSO send
// carries when a sender offers them to a GSOSend in order, or 0 when the
// first cannot go by GSO.
func gsoRun(lens []int, maxBytes, maxSegments int) int {
	if len(lens) == 0 || GSOSegments(lens[0], maxBytes, maxSegments) == 0 {
		return 0
	}
	var g GSOSend
	g.Start(lens[0], maxBytes, maxSegments)
	n := 1
	for _, l := range lens[1:] {
		if !g.Add(l) {
			break
		}
		n++
	}
	return n
}

// TestGSOSendRuns checks the runs GSOSend forms over whole queues.
func TestGSOSendRuns(t *testing.T) {
	rep := func(v, n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	cases := []struct {
		name string
		lens []int
		max  int
		segs int
		want int
	}{
		{name: "empty", lens: nil, max: MaxPayloadIPv4, segs: 64, want: 0},
		{name: "one", lens: []int{1000}, max: MaxPayloadIPv4, segs: 64, want: 1},
		{name: "equal", lens: rep(1000, 10), max: MaxPayloadIPv4, segs: 64, want: 10},
		{name: "short tail ends run", lens: []int{1000, 1000, 300, 1000}, max: MaxPayloadIPv4, segs: 64, want: 3},
		{name: "longer stops run", lens: []int{1000, 1000, 1200}, max: MaxPayloadIPv4, segs: 64, want: 2},
		{name: "segment cap", lens: rep(100, 200), max: MaxPayloadIPv4, segs: 64, want: 64},
		{name: "byte cap", lens: rep(1472, 100), max: MaxPayloadIPv4, segs: 64, want: 44},
		{name: "byte cap with tail", lens: append(rep(8972, 7), 100), max: MaxPayloadIPv4, segs: 64, want: 7},
		{name: "tail fits", lens: append(rep(8972, 6), 100), max: MaxPayloadIPv4, segs: 64, want: 7},
		{name: "empty datagram stays out", lens: []int{1000, 0, 1000}, max: MaxPayloadIPv4, segs: 64, want: 1},
		{name: "empty first", lens: []int{0, 0}, max: MaxPayloadIPv4, segs: 64, want: 0},
		{name: "too big", lens: []int{70000}, max: MaxPayloadIPv4, segs: 64, want: 0},
	}
	for _, c := range cases {
		if got := gsoRun(c.lens, c.max, c.segs); got != c.want {
			t.Errorf("%s: run of %d datagrams, want %d", c.name, got, c.want)
		}
	}
}

// TestGSOSendMatchesSegments checks that a planned run, concatenated, splits
// back into exactly the planned datagrams.
func TestGSOSendMatchesSegments(t *testing.T) {
	lens := []int{1200, 1200, 1200, 1200, 700, 1200, 1200, 1300, 5}
	for start := 0; start < len(lens); {
		n := gsoRun(lens[start:], MaxPayloadIPv4, MaxGSOSegments)
		if n == 0 {
			t.Fatalf("no run at %d", start)
		}
		total := 0
		for _, l := range lens[start : start+n] {
			total += l
		}
		seg := lens[start]
		if segments(total, seg) != n {
			t.Fatalf("run at %d of %d datagrams splits into %d", start, n, segments(total, seg))
		}
		for i := range n {
			_, l, _ := SegmentAt(total, seg, i)
			if l != lens[start+i] {
				t.Fatalf("run at %d: segment %d has length %d, want %d", start, i, l, lens[start+i])
			}
		}
		start += n
	}
}

func TestGSOSend(t *testing.T) {
	var zero GSOSend
	if zero.Add(100) {
		t.Fatal("the zero GSOSend accepted a datagram")
	}
	var g GSOSend
	if g.Start(0, MaxPayloadIPv4, MaxGSOSegments) || g.Add(0) {
		t.Fatal("an empty first datagram opened a run")
	}
	if g.Start(MaxPayloadIPv4+1, MaxPayloadIPv4, MaxGSOSegments) {
		t.Fatal("a first datagram larger than the buffer opened a run")
	}
	if !g.Start(1000, 2500, MaxGSOSegments) {
		t.Fatal("1000-byte datagrams in a 2500-byte buffer cannot share a send")
	}
	if !g.Add(1000) || g.Add(1000) {
		t.Fatal("the byte limit did not stop the run at two datagrams")
	}
	g.Start(1000, MaxPayloadIPv4, MaxGSOSegments)
	if g.Add(1001) || !g.Add(400) || g.Add(1000) {
		t.Fatal("a longer datagram joined, or one after the short tail")
	}
}
