package mmsg

import (
	"bytes"
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
		if got := Segments(c.n, c.seg); got != c.want {
			t.Errorf("Segments(%d, %d) = %d, want %d", c.n, c.seg, got, c.want)
		}
	}
}

// TestSegmentAtCoversBuffer checks, for many shapes, that the segments tile
// [0, n) in order without gaps or overlap, that all but the last have the
// segment size, and that out-of-range indices are refused.
func TestSegmentAtCoversBuffer(t *testing.T) {
	for _, seg := range []int{0, 1, 7, 1000, 1472} {
		for _, n := range []int{0, 1, 6, 7, 8, 999, 1000, 1001, 2999, 3000, 64768, 65507} {
			count := Segments(n, seg)
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

func TestAppendSegmentsShortTail(t *testing.T) {
	b := make([]byte, 2500)
	for i := range b {
		b[i] = byte(i / 1000) // segment number
	}
	got := AppendSegments(nil, b, 1000)
	if len(got) != 3 {
		t.Fatalf("got %d segments, want 3", len(got))
	}
	for i, want := range []int{1000, 1000, 500} {
		if len(got[i]) != want || cap(got[i]) != want {
			t.Errorf("segment %d: len %d cap %d, want %d", i, len(got[i]), cap(got[i]), want)
		}
		if !bytes.Equal(got[i], bytes.Repeat([]byte{byte(i)}, want)) {
			t.Errorf("segment %d holds the wrong bytes", i)
		}
	}
	// The segments alias b: no copy.
	got[1][0] = 0xee
	if b[1000] != 0xee {
		t.Error("segment does not share the buffer's memory")
	}
	// Appending to a segment must not overwrite the next one.
	_ = append(got[0], 0x55)
	if b[1000] != 0xee {
		t.Error("append to a segment overwrote the next segment")
	}
}

func TestAppendSegmentsSingle(t *testing.T) {
	b := []byte("hello")
	for _, seg := range []int{0, 5, 100} {
		got := AppendSegments(nil, b, seg)
		if len(got) != 1 || string(got[0]) != "hello" {
			t.Errorf("seg %d: got %q, want one segment \"hello\"", seg, got)
		}
	}
	if got := AppendSegments(nil, nil, 10); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("empty buffer: got %d segments, want one empty", len(got))
	}
}

func TestAppendSegmentsNoAlloc(t *testing.T) {
	b := make([]byte, 64768)
	dst := make([][]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendSegments(dst[:0], b, 1472)
	})
	if allocs != 0 {
		t.Errorf("AppendSegments allocated %.1f times per call", allocs)
	}
	if len(dst) != 44 {
		t.Errorf("got %d segments, want 44", len(dst))
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
