package zmq

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"udpstream.dev/engine"
)

// leakCheck fails the test if goroutines it started outlive it.
func leakCheck(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// got is one received frame, copied.
type got struct {
	flags          uint16
	channel, error uint8
	data           []byte
}

// recorder is a slave that keeps copies of the frames it gets.
type recorder struct {
	mu     sync.Mutex
	frames []got
	signal chan struct{}
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{}, 1)} }

func (r *recorder) AcceptFrame(f engine.Frame) {
	data := make([]byte, f.Payload())
	f.ReadAt(data, 0)
	r.mu.Lock()
	r.frames = append(r.frames, got{f.Flags(), f.Channel(), f.Error(), data})
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

func (r *recorder) all() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.frames...)
}

// waitCount waits until r holds n frames or the timeout passes.
func (r *recorder) waitCount(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for r.count() < n {
		select {
		case <-r.signal:
		case <-deadline:
			t.Fatalf("received %d frames, want %d within %v", r.count(), n, timeout)
		}
	}
}

// waitUntil polls cond until it holds or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// makeFrame builds a frame from the default pool.
func makeFrame(t testing.TB, data []byte, flags uint16, ch, e uint8) engine.Frame {
	t.Helper()
	f, err := engine.NewPool().AcceptReq(len(data), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	f.SetFlags(flags)
	f.SetChannel(ch)
	f.SetError(e)
	return f
}

// rawPeer is a hand-driven ZMTP socket, for sending what a bridge must
// refuse and for peers that do not read.
type rawPeer struct {
	nc net.Conn
	rd *reader
}

func dialRaw(t *testing.T, port int, local, remote string) *rawPeer {
	t.Helper()
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{nc: nc, rd: newReader(nc)}
	t.Cleanup(func() { nc.Close() })
	if err := handshake(nc.(*net.TCPConn), local, remote, 5*time.Second, p.rd); err != nil {
		t.Fatal(err)
	}
	return p
}

// send writes one multipart message.
func (p *rawPeer) send(t *testing.T, parts ...[]byte) {
	t.Helper()
	var out bytes.Buffer
	var hdr [9]byte
	for i, part := range parts {
		flags := byte(flagMore)
		if i == len(parts)-1 {
			flags = 0
		}
		out.Write(hdr[:putHeader(hdr[:], flags, len(part))])
		out.Write(part)
	}
	if _, err := p.nc.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// recv reads one multipart message.
func (p *rawPeer) recv(t *testing.T) [][]byte {
	t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var parts [][]byte
	for {
		flags, size, err := p.rd.header()
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, size)
		if err := p.rd.readInto(body); err != nil {
			t.Fatal(err)
		}
		if flags&flagCommand != 0 {
			continue
		}
		parts = append(parts, body)
		if flags&flagMore == 0 {
			return parts
		}
	}
}

// logRecorder is a slog handler that keeps the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

func (h *logRecorder) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

func mustClose(t *testing.T, b *Bridge) {
	t.Helper()
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
}
