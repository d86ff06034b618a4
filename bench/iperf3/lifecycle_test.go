package iperf3

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// TestServerCloseInEveryState: Close returns promptly and leaves no
// goroutine with sessions waiting for a cookie, holding an accept window,
// waiting for the accept turn, and running a test (-R and -t 0, so the
// server is sending and no end is near); the clients see the control
// connection close.
func TestServerCloseInEveryState(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed iperf3-protocol tests and control timeouts; the full run covers it")
	}
	testutils.Leak(t)
	s, rep := startServer(t, ServerConfig{ControlTimeout: 30 * time.Second})
	addr := "127.0.0.1:" + strconv.Itoa(s.Port())
	cookie := NewCookie()
	params := func(body string) []byte {
		var b []byte
		b = append(b, cookie[:]...)
		b = append(b, 0, 0, 0, byte(len(body)))
		return append(b, body...)
	}
	var conns []net.Conn
	dial := func(b []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	running := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), ClientConfig{Host: "127.0.0.1", Port: s.Port(), Reverse: true, Bandwidth: 1e6})
		running <- err
	}()
	testutils.Eventually(t, 5*time.Second, "a running test", func() bool { return s.Active() == 1 && s.Counters().Control == 1 })
	dial(cookie[:10])                                  // waiting for its cookie
	dial(params(`{"udp":true,"time":5,"parallel":2}`)) // takes the accept window, never connects
	time.Sleep(100 * time.Millisecond)
	dial(params(`{"udp":true,"time":5}`)) // waits for the accept turn
	testutils.Eventually(t, 5*time.Second, "four sessions", func() bool { return s.Active() == 4 })
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-running:
		if err == nil {
			t.Error("the running client saw no error when the server closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the running client did not notice the server closing")
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Errorf("conversation %d: still open after Close", i)
				}
				break
			}
		}
		c.Close()
	}
	if rep.n() != 4 {
		t.Errorf("%d reports, want 4", rep.n())
	}
	for i := 0; i < rep.n(); i++ {
		if r := rep.get(i); r.End != EndServerClosed {
			t.Errorf("session %d ended %q (%v)", r.ID, r.End, r.Err)
		}
	}
}
