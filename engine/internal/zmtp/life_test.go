package zmtp

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// Close ends a goroutine blocked on a tracked connection and one blocked
// in Accept, refuses later connections, and is idempotent.
func TestLifeClose(t *testing.T) {
	testutils.Leak(t)
	var l Life
	l.Init()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.SetListeners(ln)
	a, b := net.Pipe()
	defer b.Close()
	if !l.Track(a) {
		t.Fatal("Track refused before Close")
	}
	readErr := make(chan error, 1)
	l.Go(func() { _, err := a.Read(make([]byte, 1)); readErr <- err })
	l.Go(func() {
		if _, err := ln.Accept(); err == nil {
			t.Error("Accept succeeded")
		}
	})
	if l.Closed() {
		t.Fatal("closed before Close")
	}
	ran := 0
	done := make(chan struct{})
	go func() {
		l.Close(func() { ran++ })
		l.Close(func() { ran++ })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := <-readErr; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("tracked read ended with %v, want io.ErrClosedPipe", err)
	}
	if ran != 1 || !l.Closed() || l.Context().Err() == nil {
		t.Fatalf("after Close: also ran %d times, closed %v, ctx %v", ran, l.Closed(), l.Context().Err())
	}
	select {
	case <-l.Done():
	default:
		t.Fatal("Done not closed")
	}
	c, d := net.Pipe()
	defer d.Close()
	if l.Track(c) {
		t.Fatal("Track accepted after Close")
	}
	if _, err := c.Write([]byte{1}); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("refused connection not closed: %v", err)
	}
}
