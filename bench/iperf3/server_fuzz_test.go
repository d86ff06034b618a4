package iperf3

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// TestServerPortFuzz throws random datagrams at the data port (one in ten
// a forged connect, others forged data headers with random counters) and
// random control conversations at the control port (garbage, truncated
// JSON, huge lengths, wrong state bytes, slow and silent clients), then
// checks that every datagram landed in a counter, that every control
// connection was closed within its deadlines, that no loss was made up,
// and that a real test still runs.
func TestServerPortFuzz(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed iperf3-protocol tests and control timeouts; the full run covers it")
	}
	testutils.Leak(t)
	const timeout = 300 * time.Millisecond
	s, rep := startServer(t, ServerConfig{ControlTimeout: timeout, MaxClients: 32})
	addr := "127.0.0.1:" + strconv.Itoa(s.Port())
	datagrams := 20000
	var wg sync.WaitGroup
	sent := make([]int, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() { defer wg.Done(); sent[g] = fuzzData(t, addr, datagrams/4, int64(g)) }()
	}
	conversations := fuzzConversations()
	for i, conv := range conversations {
		wg.Add(1)
		go func() { defer wg.Done(); runConversation(t, addr, i, conv, 10*timeout) }()
	}
	wg.Wait()
	total := uint64(0)
	for _, n := range sent {
		total += uint64(n)
	}
	testutils.Eventually(t, 5*time.Second, "every datagram counted", func() bool {
		c := s.Counters()
		return c.Datagrams+c.KernelDrops >= total
	}, func() string { return "counters " + fmtCounters(s.Counters()) })
	c := s.Counters()
	if c.Datagrams+c.KernelDrops != total || c.Datagrams != c.Data+c.Control+c.Foreign+c.Malformed+c.Outside+c.Truncated {
		t.Errorf("counters do not add up: %s", fmtCounters(c))
	}
	t.Logf("sent %d datagrams: %s; %d sessions reported", total, fmtCounters(c), rep.n())
	testutils.Eventually(t, 5*time.Second, "fuzzed sessions closed and reported", func() bool {
		return s.Active() == 0 && rep.n() == len(conversations)
	}, func() string { return strconv.Itoa(rep.n()) + " reports" })
	for i := 0; i < rep.n(); i++ {
		for _, st := range rep.get(i).Streams {
			if st.Rx.Lost > 0 && !st.Vouched || st.Vouched && st.Rx.Lost != st.Sent-st.Rx.Received {
				t.Errorf("session %d stream %d: loss %d without a vouched count", i, st.ID, st.Rx.Lost)
			}
		}
	}
	// The server still serves a real test.
	res, err := Run(context.Background(), ClientConfig{Host: "127.0.0.1", Port: s.Port(), Time: 500 * time.Millisecond, Bandwidth: 10e6, Udpperf: true})
	if err != nil {
		t.Fatalf("after the fuzz: %v", err)
	}
	if p := res.Streams[0].Peer; p.Udpperf == nil || p.Udpperf.Received+uint64(p.Errors) != res.Streams[0].Tx.Packets {
		t.Errorf("after the fuzz: sent %d, server %+v", res.Streams[0].Tx.Packets, p)
	}
	s.Close()
}

func fmtCounters(c PortCounters) string {
	return "datagrams " + strconv.FormatUint(c.Datagrams, 10) + " data " + strconv.FormatUint(c.Data, 10) +
		" control " + strconv.FormatUint(c.Control, 10) + " foreign " + strconv.FormatUint(c.Foreign, 10) +
		" malformed " + strconv.FormatUint(c.Malformed, 10) + " outside " + strconv.FormatUint(c.Outside, 10) +
		" truncated " + strconv.FormatUint(c.Truncated, 10) + " kernel drops " + strconv.FormatUint(c.KernelDrops, 10)
}

// fuzzData sends n random datagrams from one socket and returns how many
// the kernel took.
func fuzzData(t *testing.T, addr string, n int, seed int64) int {
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer c.Close()
	rng := rand.New(rand.NewSource(seed))
	buf := make([]byte, 2000)
	sent := 0
	for i := 0; i < n; i++ {
		var b []byte
		switch rng.Intn(10) {
		case 0:
			b = ConnectMsg[:]
		case 1, 2, 3:
			b = buf[:12+rng.Intn(1400)]
			PutHeader(b, rng.Uint32(), rng.Uint32(), rng.Uint64(), rng.Intn(2) == 0)
		default:
			b = buf[:rng.Intn(len(buf))]
			rng.Read(b)
		}
		if _, err := c.Write(b); err == nil {
			sent++
		}
		if i%32 == 0 {
			time.Sleep(time.Millisecond) // keep the socket buffer from overflowing
		}
	}
	return sent
}

// fuzzConversations are control conversations a client may hold; each
// is a list of writes with pauses.
func fuzzConversations() [][]any {
	cookie := NewCookie()
	frame := func(body string) []byte {
		b := make([]byte, 4+len(body))
		binary.BigEndian.PutUint32(b, uint32(len(body)))
		copy(b[4:], body)
		return b
	}
	slow := []any{}
	for _, ch := range cookie[:10] {
		slow = append(slow, []byte{ch}, 100*time.Millisecond)
	}
	rng := rand.New(rand.NewSource(7))
	garbage := make([]byte, 300)
	rng.Read(garbage)
	return [][]any{
		{garbage},
		{},   // silent
		slow, // slower than the control timeout
		{cookie[:20]},
		{cookie[:], []byte{0xff, 0xff, 0xff, 0xff}},                  // huge length
		{cookie[:], []byte{0, 0, 0x20, 0x01}},                        // 8193 > 8 KiB
		{cookie[:], frame(`{"udp":true,"time":1`)[:10]},              // truncated
		{cookie[:], frame(`{"udp":true,"time":1,`)},                  // bad JSON
		{cookie[:], frame(`{"udp":true,"len":70000}`)},               // out of range
		{cookie[:], frame(`{"udp":true,"parallel":128,"time":1}`)},   // never connects its streams
		{cookie[:], frame(`{"udp":true,"time":1}`), []byte{4, 4, 4}}, // TEST_END too early
		{cookie[:], frame(`{"tcp":true,"time":1}`)},
		{cookie[:], frame(`[1,2,3]`)},
		{cookie[:], []byte{0x7f}},
	}
}

// runConversation writes the steps and then reads until the server closes;
// the server must close within limit.
func runConversation(t *testing.T, addr string, i int, steps []any, limit time.Duration) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("conversation %d: %v", i, err)
		return
	}
	defer c.Close()
	start := time.Now()
	for _, st := range steps {
		switch v := st.(type) {
		case []byte:
			if _, err := c.Write(v); err != nil {
				return // the server already closed
			}
		case time.Duration:
			time.Sleep(v)
		}
	}
	_ = c.SetReadDeadline(start.Add(limit))
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("conversation %d: not closed by the server within %v: %v", i, limit, err)
	}
}
