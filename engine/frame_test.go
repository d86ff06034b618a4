package engine

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func mustFrame(t *testing.T, p *Pool, size int) Frame {
	t.Helper()
	f, err := p.AcceptReq(size, true)
	if err != nil {
		t.Fatalf("AcceptReq(%d): %v", size, err)
	}
	return f
}

func TestFramePayloadAccounting(t *testing.T) {
	p, err := NewFixedPool(100, 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := mustFrame(t, p, 250)
	if got := f.BufferCount(); got != 3 {
		t.Fatalf("BufferCount = %d, want 3", got)
	}
	if f.Size() != 300 || f.Payload() != 0 || f.Available() != 300 {
		t.Fatalf("size/payload/available = %d/%d/%d", f.Size(), f.Payload(), f.Available())
	}
	if err := f.SetPayload(301); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("SetPayload past size: %v", err)
	}
	if f.Payload() != 0 {
		t.Fatalf("failed SetPayload changed payload to %d", f.Payload())
	}
	if err := f.SetPayload(150); err != nil {
		t.Fatal(err)
	}
	if err := f.MinPayload(100); err != nil || f.Payload() != 150 {
		t.Fatalf("MinPayload shrank: %d %v", f.Payload(), err)
	}
	if err := f.MinPayload(200); err != nil || f.Payload() != 200 {
		t.Fatalf("MinPayload did not grow: %d %v", f.Payload(), err)
	}
	if err := f.AdjustPayload(-50); err != nil || f.Payload() != 150 {
		t.Fatalf("AdjustPayload(-50): %d %v", f.Payload(), err)
	}
	if err := f.AdjustPayload(-151); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("AdjustPayload underflow: %v", err)
	}
	if err := f.SetPayload(-1); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("negative payload: %v", err)
	}
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestFrameMetadata(t *testing.T) {
	f := mustFrame(t, NewPool(), 8)
	defer f.Release()
	f.SetChannel(7)
	f.SetError(3)
	f.SetFlags(0xA55A)
	if f.Channel() != 7 || f.Error() != 3 || f.Flags() != 0xA55A {
		t.Fatalf("metadata = %d %d %#x", f.Channel(), f.Error(), f.Flags())
	}
	if f.FirstUser() != 0x5A || f.LastUser() != 0xA5 {
		t.Fatalf("first/last user = %#x %#x", f.FirstUser(), f.LastUser())
	}
	// Setters replace their byte rather than OR-ing bits in.
	f.SetFirstUser(0x01)
	f.SetLastUser(0x80)
	if f.Flags() != 0x8001 {
		t.Fatalf("flags after user setters = %#x, want 0x8001", f.Flags())
	}
}

func TestFrameReadWriteAcrossBuffers(t *testing.T) {
	p, _ := NewFixedPool(7, 8, 0)
	f := mustFrame(t, p, 30)
	defer f.Release()
	msg := []byte("the quick brown fox jumps")
	if n, err := f.Write(msg[:10]); n != 10 || err != nil {
		t.Fatalf("Write: %d %v", n, err)
	}
	if n, err := f.Write(msg[10:]); n != len(msg)-10 || err != nil {
		t.Fatalf("Write: %d %v", n, err)
	}
	if f.Payload() != len(msg) {
		t.Fatalf("payload = %d", f.Payload())
	}
	got, err := io.ReadAll(f.NewReader())
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read back %q, %v", got, err)
	}
	part := make([]byte, 9)
	if n, err := f.ReadAt(part, 5); n != 9 || err != nil || string(part) != string(msg[5:14]) {
		t.Fatalf("ReadAt: %d %v %q", n, err, part)
	}
	if n, err := f.ReadAt(part, int64(len(msg)-3)); n != 3 || err != io.EOF {
		t.Fatalf("ReadAt at end: %d %v", n, err)
	}
	if _, err := f.WriteAt(make([]byte, 10), int64(f.Size()-5)); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("WriteAt past size: %v", err)
	}
	if _, err := f.Bytes(); !errors.Is(err, ErrNotContiguous) {
		t.Fatalf("Bytes on multi-buffer frame: %v", err)
	}
	bufs, err := f.AppendBuffers(nil)
	if err != nil {
		t.Fatal(err)
	}
	if joined := bytes.Join(bufs, nil); !bytes.Equal(joined, msg) {
		t.Fatalf("AppendBuffers joined %q", joined)
	}
}

func TestFrameContiguousIsZeroCopy(t *testing.T) {
	p, _ := NewFixedPool(64, 4, 0)
	f := mustFrame(t, p, 64)
	defer f.Release()
	mem, err := f.Memory()
	if err != nil || len(mem) != 64 {
		t.Fatalf("Memory: %d %v", len(mem), err)
	}
	copy(mem, "hello")
	f.SetPayload(5)
	b, err := f.Bytes()
	if err != nil || string(b) != "hello" {
		t.Fatalf("Bytes = %q %v", b, err)
	}
	mem[0] = 'j'
	if b[0] != 'j' {
		t.Fatal("Bytes is a copy, want a view of the buffer")
	}
}

func TestReleasedFrameIsAnError(t *testing.T) {
	p, _ := NewFixedPool(32, 4, 0)
	f := mustFrame(t, p, 10)
	f.SetPayload(10)
	stale := f
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	if err := stale.Release(); !errors.Is(err, ErrReleased) {
		t.Fatalf("double release: %v", err)
	}
	// The body is recycled by the next allocation; the stale handle must not
	// see or touch the new frame.
	g := mustFrame(t, p, 10)
	defer g.Release()
	g.SetPayload(7)
	if stale.Valid() || stale.Payload() != 0 || stale.Size() != 0 {
		t.Fatalf("stale handle sees valid=%v payload=%d size=%d", stale.Valid(), stale.Payload(), stale.Size())
	}
	for name, err := range map[string]error{
		"SetPayload": stale.SetPayload(1),
		"SetChannel": stale.SetChannel(1),
		"Retain":     stale.Retain(),
	} {
		if !errors.Is(err, ErrReleased) {
			t.Errorf("%s on released frame: %v", name, err)
		}
	}
	if _, err := stale.Write([]byte("x")); !errors.Is(err, ErrReleased) {
		t.Errorf("Write on released frame: %v", err)
	}
	if g.Payload() != 7 {
		t.Fatalf("live frame disturbed: payload %d", g.Payload())
	}
	var zero Frame
	if zero.Valid() || zero.Release() == nil {
		t.Fatal("zero Frame must be invalid")
	}
}

func TestRetainKeepsBuffersUntilLastRelease(t *testing.T) {
	p, _ := NewFixedPool(32, 4, 0)
	f := mustFrame(t, p, 10)
	if err := f.Retain(); err != nil {
		t.Fatal(err)
	}
	f.Release()
	if !f.Valid() || p.AllocCount() != 1 {
		t.Fatalf("after one of two releases: valid=%v allocCount=%d", f.Valid(), p.AllocCount())
	}
	f.Release()
	if f.Valid() || p.AllocCount() != 0 {
		t.Fatalf("after last release: valid=%v allocCount=%d", f.Valid(), p.AllocCount())
	}
}

func TestHeadroomPushPull(t *testing.T) {
	p, _ := NewFixedPool(100, 4, 42)
	f := mustFrame(t, p, 100)
	defer f.Release()
	f.Write([]byte("payload"))
	if f.Headroom() != 42 {
		t.Fatalf("headroom = %d", f.Headroom())
	}
	h, err := f.PushHeader(8)
	if err != nil {
		t.Fatal(err)
	}
	copy(h, "HEADER::")
	b, _ := f.Bytes()
	if string(b) != "HEADER::payload" || f.Headroom() != 34 {
		t.Fatalf("after push: %q headroom %d", b, f.Headroom())
	}
	if _, err := f.PushHeader(35); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("push past headroom: %v", err)
	}
	if err := f.PullHeader(8); err != nil {
		t.Fatal(err)
	}
	b, _ = f.Bytes()
	if string(b) != "payload" {
		t.Fatalf("after pull: %q", b)
	}
}
