package udp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// recordCounter is a slog handler that counts records by message.
type recordCounter struct {
	mu   sync.Mutex
	msgs map[string]int
}

func newRecordCounter() *recordCounter { return &recordCounter{msgs: map[string]int{}} }

func (h *recordCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordCounter) WithGroup(string) slog.Handler            { return h }
func (h *recordCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs[r.Message]++
	h.mu.Unlock()
	return nil
}

func (h *recordCounter) snapshot() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.msgs))
	for k, v := range h.msgs {
		out[k] = v
	}
	return out
}

// triggerLogEvents provokes, once each, events a server both counts and
// may log: a send with no peer, an errored frame, a frame larger than
// MaxPayload, and an oversize datagram received.
func triggerLogEvents(t *testing.T, opts ...Option) {
	s := mustServer(t, false, opts...)
	f := frameOf(t, s.ep.txPool, make([]byte, 100))
	defer f.Release()
	if err := s.Send(f); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("Send without a peer: %v", err)
	}
	peer := rawUDP(t)
	if _, err := peer.WriteToUDP(make([]byte, 10), loopback(s.Port())); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WriteToUDP(make([]byte, MaxPayloadStandard+100), loopback(s.Port())); err != nil {
		t.Fatal(err)
	}
	testutils.Eventually(t, 5*time.Second, "the oversize datagram counted", func() bool { return s.Stats().RxOversize == 1 })
	f.SetError(0x5)
	if err := s.Send(f); !errors.Is(err, ErrFrameErrored) {
		t.Fatalf("Send of an errored frame: %v", err)
	}
	big, err := engine.NewPool().AcceptReq(MaxPayloadStandard+1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Release()
	big.SetPayload(big.Size())
	if err := s.Send(big); !errors.Is(err, engine.ErrFrameSize) {
		t.Fatalf("Send of an oversize frame: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNoLoggerLogsNothing(t *testing.T) {
	testutils.Leak(t)
	h := newRecordCounter()
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	defer slog.SetDefault(prev)
	triggerLogEvents(t)
	if got := h.snapshot(); len(got) != 0 {
		t.Fatalf("without WithLogger the endpoint logged to slog.Default: %v", got)
	}
}

func TestWithLoggerLogsEachEventOnce(t *testing.T) {
	testutils.Leak(t)
	h := newRecordCounter()
	triggerLogEvents(t, WithLogger(slog.New(h)))
	got := h.snapshot()
	for _, msg := range []string{
		"udp: server has no peer yet, frame not sent",
		"udp: dropped datagrams larger than MaxPayload",
		"udp: not transmitting a frame with its error set",
		"udp: not transmitting a frame larger than MaxPayload (frames are never split)",
	} {
		if got[msg] != 1 {
			t.Errorf("%q logged %d times, want once", msg, got[msg])
		}
	}
	if t.Failed() {
		t.Logf("records: %v", got)
	}
}

func TestSetDebugUsesTheEndpointLogger(t *testing.T) {
	testutils.Leak(t)
	h := newRecordCounter()
	s := mustServer(t, false, WithLogger(slog.New(h)))
	s.SetDebug(8, "tx")
	f := frameOf(t, s.ep.txPool, []byte("payload"))
	s.AcceptFrame(f) // dumped, then refused: no peer yet
	f.Release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := h.snapshot(); got["frame"] != 1 {
		t.Fatalf("debug dumps through WithLogger: %v, want one \"frame\" record", got)
	}
}
