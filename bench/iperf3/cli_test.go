package iperf3

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeAndRunAndPrint: the command-line layer's text and JSON on both
// sides of a --bidir test, one-off server.
func TestServeAndRunAndPrint(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed iperf3-protocol tests and control timeouts; the full run covers it")
	}
	testutils.Leak(t)
	port := freePort(t)
	var srvOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), ServeOptions{Config: ServerConfig{Port: port, Interval: 300 * time.Millisecond}, OneOff: true, Out: &srvOut})
	}()
	testutils.Eventually(t, 5*time.Second, "server listening", func() bool { return listening(port) })
	var cliOut bytes.Buffer
	cfg := ClientConfig{Host: "127.0.0.1", Port: port, Time: time.Second, Bandwidth: 5e6, Bidir: true, GetServerOutput: true, Interval: 300 * time.Millisecond}
	if _, err := RunAndPrint(context.Background(), RunOptions{Config: cfg, Out: &cliOut}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Connecting to host 127.0.0.1", "[ ID][Role]", "[TX-C]", "[RX-C]", "receiver", "Server output:", "[RX-S]", "iperf Done."} {
		if !strings.Contains(cliOut.String(), w) {
			t.Errorf("client output lacks %q:\n%s", w, cliOut.String())
		}
	}
	for _, w := range []string{"Server listening on", "  0.00-", "[TX-S]", "ended: done", "port counters:"} {
		if !strings.Contains(srvOut.String(), w) {
			t.Errorf("server output lacks %q:\n%s", w, srvOut.String())
		}
	}
	var jsonOut bytes.Buffer
	cfg.Port = 1 // nothing listens: the JSON carries the error
	if _, err := RunAndPrint(context.Background(), RunOptions{Config: cfg, JSON: true, Out: &jsonOut}); err == nil {
		t.Error("no error from a closed port")
	}
	var doc map[string]any
	if err := json.Unmarshal(jsonOut.Bytes(), &doc); err != nil || doc["error"] == nil {
		t.Errorf("JSON on failure: %v %s", err, jsonOut.String())
	}
}
