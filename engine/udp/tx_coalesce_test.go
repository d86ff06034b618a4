package udp

import (
	"bytes"
	"testing"

	"udpstream.dev/engine"
)

// gather plans frames the way transmit does: txWindow, then joinWindow or
// AppendBuffers, into one message that starts at flat[start].
func gather(t *testing.T, flat [][]byte, start int, fs ...engine.Frame) [][]byte {
	t.Helper()
	for _, f := range fs {
		n, w, ok := px.TxWindow(f, MaxPayloadJumbo)
		if !ok {
			flat, _ = f.AppendBuffers(flat)
			continue
		}
		if n != len(w) {
			t.Fatalf("txWindow: size %d, window of %d bytes", n, len(w))
		}
		flat = joinWindow(flat, start, w)
	}
	return flat
}

func TestJoinWindowJoinsAdjacentSlabFrames(t *testing.T) {
	p, err := engine.NewFixedPool(1472, 64, 0) // 1472 is a multiple of the buffer alignment: no gaps
	if err != nil {
		t.Fatal(err)
	}
	var frames []engine.Frame
	var want []byte
	for i := range 5 {
		f := mustFrame(t, p, 1472)
		defer f.Release()
		f.Write(bytes.Repeat([]byte{byte(i + 1)}, 1472))
		frames = append(frames, f)
		want = append(want, bytes.Repeat([]byte{byte(i + 1)}, 1472)...)
	}
	heap := mustFrame(t, engine.NewPool(), 100)
	defer heap.Release()
	heap.Write(bytes.Repeat([]byte{9}, 100))

	// One message from flat[1:]: the entry before it must never be joined.
	flat := [][]byte{[]byte("other message")}
	flat = gather(t, flat, 1, frames...)
	if len(flat) != 2 {
		t.Fatalf("5 adjacent slab frames gave %d iovecs, want 1 (+1 of the previous message)", len(flat)-1)
	}
	flat = gather(t, flat, 1, heap)
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
	flat = gather(t, nil, 0, frames[2], frames[1])
	if len(flat) != 2 {
		t.Fatalf("non-adjacent frames joined: %d iovecs", len(flat))
	}
	// A message boundary is never crossed: frames[1] starts a new message
	// at flat[1] although it follows frames[0] in memory.
	flat = gather(t, nil, 0, frames[0])
	flat = gather(t, flat, 1, frames[1])
	if len(flat) != 2 || !bytes.Equal(flat[0], want[:1472]) || !bytes.Equal(flat[1], want[1472:2944]) {
		t.Fatalf("frames joined across a message boundary: %d iovecs", len(flat))
	}
}

func TestTxWindowDeclinesWhatCheckFrameMustJudge(t *testing.T) {
	p, err := engine.NewFixedPool(1472, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	live := mustFrame(t, p, 1472)
	defer live.Release()
	live.Write(make([]byte, 1000))
	if n, w, ok := px.TxWindow(live, MaxPayloadStandard); !ok || n != 1000 || len(w) != 1000 {
		t.Fatalf("a live 1000-byte frame: n %d, window %d, ok %v", n, len(w), ok)
	}
	if _, _, ok := px.TxWindow(live, 999); ok {
		t.Error("an oversize frame took the fast path")
	}
	errored := mustFrame(t, p, 1472)
	defer errored.Release()
	errored.Write([]byte{1})
	errored.SetError(3)
	if _, _, ok := px.TxWindow(errored, MaxPayloadStandard); ok {
		t.Error("an errored frame took the fast path")
	}
	empty := mustFrame(t, p, 1472)
	defer empty.Release()
	if _, _, ok := px.TxWindow(empty, MaxPayloadStandard); ok {
		t.Error("an empty frame took the fast path")
	}
	released := mustFrame(t, p, 1472)
	released.Write([]byte{1})
	released.Release()
	if _, _, ok := px.TxWindow(released, MaxPayloadStandard); ok {
		t.Error("a released frame took the fast path")
	}
	if _, _, ok := px.TxWindow(engine.Frame{}, MaxPayloadStandard); ok {
		t.Error("the zero Frame took the fast path")
	}
	small, err := engine.NewFixedPool(16, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	split := mustFrame(t, small, 32) // two 16-byte buffers
	defer split.Release()
	split.Write(make([]byte, 32))
	if split.BufferCount() != 2 {
		t.Fatalf("split frame has %d buffers", split.BufferCount())
	}
	if _, _, ok := px.TxWindow(split, MaxPayloadStandard); ok {
		t.Error("a frame of two buffers took the fast path")
	}
}
