package mmsg

import (
	"slices"
	"testing"
)

func TestSegments(t *testing.T) {
	cases := []struct {
		n, seg, want int
	}{
		{n: -1, seg: 10, want: 0},
		{n: 0, seg: 0, want: 1},
		{n: 0, seg: 10, want: 1},
		{n: 5, seg: 0, want: 1},
		{n: 5, seg: -3, want: 1},
		{n: 10, seg: 10, want: 1},
		{n: 11, seg: 10, want: 2},
		{n: 20, seg: 10, want: 2},
		{n: 21, seg: 10, want: 3},
		{n: 64768, seg: 1472, want: 44},
		{n: 64768 - 100, seg: 1472, want: 44},
		{n: 1, seg: 1, want: 1},
		{n: 128, seg: 1, want: 128},
	}
	for _, c := range cases {
		if got := segments(c.n, c.seg); got != c.want {
			t.Errorf("segments(%d, %d) = %d, want %d", c.n, c.seg, got, c.want)
		}
	}
}

// TestSegmentAtCoversBuffer checks, for many shapes, that the segments tile
// [0, n) in order without gaps or overlap, that all but the last have the
// segment size, and that out-of-range indices are refused.
func TestSegmentAtCoversBuffer(t *testing.T) {
	for _, seg := range []int{0, 1, 7, 1000, 1472} {
		for _, n := range []int{0, 1, 6, 7, 8, 999, 1000, 1001, 2999, 3000, 64768, 65507} {
			count := segments(n, seg)
			next := 0
			for i := range count {
				off, l, ok := SegmentAt(n, seg, i)
				if !ok {
					t.Fatalf("SegmentAt(%d, %d, %d) not ok within count %d", n, seg, i, count)
				}
				if off != next {
					t.Fatalf("SegmentAt(%d, %d, %d) offset %d, want %d", n, seg, i, off, next)
				}
				if i < count-1 && l != seg {
					t.Fatalf("SegmentAt(%d, %d, %d) length %d, want %d", n, seg, i, l, seg)
				}
				if l <= 0 && n > 0 {
					t.Fatalf("SegmentAt(%d, %d, %d) empty segment", n, seg, i)
				}
				next = off + l
			}
			if next != n {
				t.Fatalf("segments of (%d, %d) end at %d, want %d", n, seg, next, n)
			}
			for _, i := range []int{-1, count} {
				if _, _, ok := SegmentAt(n, seg, i); ok {
					t.Fatalf("SegmentAt(%d, %d, %d) ok outside 0..%d", n, seg, i, count-1)
				}
			}
		}
	}
}

// TestSegmentAt checks offsets and lengths of a short tail, of buffers that
// hold one datagram, and of an empty datagram.
func TestSegmentAt(t *testing.T) {
	type seg struct{ off, l int }
	cases := []struct {
		n, seg int
		want   []seg
	}{
		{n: 2500, seg: 1000, want: []seg{{0, 1000}, {1000, 1000}, {2000, 500}}},
		{n: 3000, seg: 1000, want: []seg{{0, 1000}, {1000, 1000}, {2000, 1000}}},
		{n: 5, seg: 0, want: []seg{{0, 5}}},
		{n: 5, seg: 5, want: []seg{{0, 5}}},
		{n: 5, seg: 100, want: []seg{{0, 5}}},
		{n: 0, seg: 10, want: []seg{{0, 0}}},
		{n: -1, seg: 10},
	}
	for _, c := range cases {
		var got []seg
		for i := 0; ; i++ {
			off, l, ok := SegmentAt(c.n, c.seg, i)
			if !ok {
				break
			}
			got = append(got, seg{off, l})
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("SegmentAt(%d, %d, i) gives %v, want %v", c.n, c.seg, got, c.want)
		}
	}
}

// appendSegments appends to dst one sub-slice of b per datagram, with b cut
// into segSize pieces as a GRO receive is, clipping each to its length.
func appendSegments(dst [][]byte, b []byte, segSize int) [][]byte {
	for i := 0; ; i++ {
		off, l, ok := SegmentAt(len(b), segSize, i)
		if !ok {
			return dst
		}
		dst = append(dst, b[off:off+l:off+l])
	}
}

func TestMessageDatagramsAndLen(t *testing.T) {
	m := Message{Buffers: [][]byte{make([]byte, 3), nil, make([]byte, 4)}}
	if m.Len() != 7 {
		t.Errorf("Len = %d, want 7", m.Len())
	}
	m.N, m.SegmentSize = 2500, 1000
	if m.Datagrams() != 3 {
		t.Errorf("Datagrams = %d, want 3", m.Datagrams())
	}
	m.SegmentSize = 0
	if m.Datagrams() != 1 {
		t.Errorf("Datagrams without GRO = %d, want 1", m.Datagrams())
	}
}
