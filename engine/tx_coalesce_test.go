package engine

import (
	"bytes"
	"testing"
)

func TestAppendCoalescedJoinsAdjacentSlabFrames(t *testing.T) {
	p, err := NewFixedPool(1472, 64, 0) // 1472 is a multiple of the buffer alignment: no gaps
	if err != nil {
		t.Fatal(err)
	}
	var frames []Frame
	var want []byte
	for i := range 5 {
		f := mustFrame(t, p, 1472)
		defer f.Release()
		f.Write(bytes.Repeat([]byte{byte(i + 1)}, 1472))
		frames = append(frames, f)
		want = append(want, bytes.Repeat([]byte{byte(i + 1)}, 1472)...)
	}
	heap := mustFrame(t, NewPool(), 100)
	defer heap.Release()
	heap.Write(bytes.Repeat([]byte{9}, 100))

	// One message from flat[1:]: the entry before it must never be joined.
	flat := [][]byte{[]byte("other message")}
	for _, f := range frames {
		flat = appendCoalesced(flat, 1, f)
	}
	if len(flat) != 2 {
		t.Fatalf("5 adjacent slab frames gave %d iovecs, want 1 (+1 of the previous message)", len(flat)-1)
	}
	flat = appendCoalesced(flat, 1, heap)
	if len(flat) != 3 {
		t.Fatalf("a heap frame was joined onto slab memory: %d entries", len(flat))
	}
	if got := bytes.Join(flat[1:], nil); !bytes.Equal(got, append(want, bytes.Repeat([]byte{9}, 100)...)) {
		t.Fatal("joined iovecs do not carry the frames' bytes in order")
	}
	if string(flat[0]) != "other message" {
		t.Fatal("previous message changed")
	}

	// Out of order frames are not adjacent and stay separate.
	flat = appendCoalesced(nil, 0, frames[2])
	flat = appendCoalesced(flat, 0, frames[1])
	if len(flat) != 2 {
		t.Fatalf("non-adjacent frames joined: %d iovecs", len(flat))
	}
}
