package iperf3

import (
	"context"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// TestClientUntilCancelled: -t 0 runs until the context ends, then
// exchanges results as usual.
func TestClientUntilCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed iperf3-protocol tests and control timeouts; the full run covers it")
	}
	testutils.Leak(t)
	s, _ := startServer(t, ServerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, ClientConfig{Host: "127.0.0.1", Port: s.Port(), Bandwidth: 1e6, Udpperf: true, CPUs: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Duration; d < 400*time.Millisecond || d > 3*time.Second || res.Params.Time != 0 {
		t.Errorf("duration %v, time %d", d, res.Params.Time)
	}
	if st := res.Streams[0]; st.Tx.Packets == 0 || st.Peer.Udpperf.Received+uint64(st.Peer.Errors) != st.Tx.Packets {
		t.Errorf("sent %d, server %+v", st.Tx.Packets, st.Peer)
	}
	s.Close()
}

func TestClientConfigErrors(t *testing.T) {
	for _, cfg := range []ClientConfig{
		{Port: 5201},
		{Host: "h", Port: 0},
		{Host: "h", Port: 5201, Len: 15},
		{Host: "h", Port: 5201, Len: 65508},
		{Host: "h", Port: 5201, Parallel: 129},
		{Host: "h", Port: 5201, Bandwidth: -1},
		{Host: "h", Port: 5201, Time: 86401 * time.Second},
		{Host: "h", Port: 5201, CPUs: []int{runtime.NumCPU()}},
		{Host: "h", Port: 5201, CPUs: []int{-1}},
	} {
		if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", cfg, err)
		}
	}
	if _, err := NewServer(ServerConfig{Port: 70000}); !errors.Is(err, ErrConfig) {
		t.Errorf("server port 70000: %v", err)
	}
}

// TestClientSilentServer: a server that accepts and says nothing fails
// the client within its control timeout.
func TestClientSilentServer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed iperf3-protocol tests and control timeouts; the full run covers it")
	}
	testutils.Leak(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c // held open, silent, until the test ends
		}
		close(held)
	}()
	defer func() {
		if c, ok := <-held; ok {
			c.Close()
		}
	}()
	start := time.Now()
	_, err = Run(context.Background(), ClientConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, ControlTimeout: 200 * time.Millisecond})
	if err == nil || time.Since(start) > 900*time.Millisecond {
		t.Errorf("after %v: %v", time.Since(start), err)
	}
}
