package iperf3

import (
	"context"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// TestPRBSPayload: the sequence regenerates from the counter, any flipped
// bit is found, odd lengths work, and the first words are the LFSR's
// (hand-computed from seed 1: 1>>1 ^ taps = 0x80200003; odd, so
// 0x40100001 ^ taps = 0xc0300002; even, so 0x60180001).
func TestPRBSPayload(t *testing.T) {
	b := make([]byte, 12)
	fillPRBS(b, 1)
	want := []byte{0x80, 0x20, 0x00, 0x03, 0xc0, 0x30, 0x00, 0x02, 0x60, 0x18, 0x00, 0x01}
	if string(b) != string(want) {
		t.Fatalf("PRBS of counter 1: % x, want % x", b, want)
	}
	for _, n := range []int{0, 1, 3, 4, 1460, 65491} {
		for _, count := range []uint64{1, 2, 1 << 32, 1<<64 - 1} {
			p := make([]byte, n)
			fillPRBS(p, count)
			if !checkPRBS(p, count) {
				t.Fatalf("len %d count %d: does not check", n, count)
			}
			if n > 0 {
				p[n/2] ^= 0x10
				if checkPRBS(p, count) {
					t.Fatalf("len %d count %d: a flipped bit passed", n, count)
				}
			}
		}
	}
	a, c := make([]byte, 64), make([]byte, 64)
	fillPRBS(a, 7)
	fillPRBS(c, 8)
	if string(a) == string(c) {
		t.Error("two counters give the same payload")
	}
}

// TestPRBSBetweenUdpperfs: PRBS payloads both ways (--bidir) pass their
// checks, and a receiver counts a corrupted one.
func TestPRBSBetweenUdpperfs(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed iperf3-protocol tests and control timeouts; the full run covers it")
	}
	testutils.Leak(t)
	s, rep := startServer(t, ServerConfig{})
	res, err := Run(context.Background(), ClientConfig{Host: "127.0.0.1", Port: s.Port(), Time: 500 * time.Millisecond,
		Bandwidth: 10e6, Bidir: true, PRBS: true, Counters64: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Streams {
		x := st.Peer.Udpperf
		if !st.Sender {
			x = extrasOf(st.Rx)
		}
		if x == nil || x.Received == 0 || x.PRBSErrors != 0 {
			t.Errorf("stream %d (sender %v): %+v", st.ID, st.Sender, x)
		}
	}
	testutils.Eventually(t, 5*time.Second, "report", func() bool { return rep.n() == 1 })
	s.Close()
	rx := &rxStream{running: true, prbs: true}
	d := make([]byte, 100)
	PutHeader(d, 0, 0, 5, false)
	fillPRBS(d[12:], 5)
	rx.add(d, 0)
	d[50] ^= 1
	rx.add(d, 0)
	if c := rx.counts(); c.PRBSErrors != 1 || c.Received != 2 {
		t.Errorf("counts %+v", c)
	}
}
