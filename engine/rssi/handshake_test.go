package rssi

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// holder holds back the datagrams of a lossy link its rule picks, each
// for the time the rule returns, then sends them on through the link.
type holder struct {
	l    *lossyLink
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// holdBack installs rule on l before the link carries anything. rule runs
// under the link's lock, one datagram at a time; 0 lets the datagram pass.
// A held datagram is not shown to rule again.
func holdBack(l *lossyLink, rule func(b []byte) time.Duration) *holder {
	h := &holder{l: l, stop: make(chan struct{})}
	l.drop = func(b []byte) bool {
		d := rule(b)
		if d <= 0 {
			return d < 0
		}
		c, err := l.pool.AcceptReq(len(b), true)
		if err != nil {
			return true // lost, as the link's own full queue would
		}
		c.WriteAt(b, 0)
		h.wg.Add(1)
		go h.later(c, d)
		return true
	}
	return h
}

func (h *holder) later(c engine.Frame, d time.Duration) {
	defer h.wg.Done()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		h.l.mu.Lock()
		h.l.push(c)
		h.l.mu.Unlock()
	case <-h.stop:
		c.Release()
	}
}

// wait returns once every held datagram went on (or d passed).
func (h *holder) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// close drops what is still held; call it before the link closes.
func (h *holder) close() {
	h.once.Do(func() { close(h.stop) })
	h.wg.Wait()
}

func isSyn(b []byte) bool    { return len(b) > 0 && b[0]&(FlagSyn|FlagAck) == FlagSyn }
func isSynAck(b []byte) bool { return len(b) > 0 && b[0]&(FlagSyn|FlagAck) == FlagSyn|FlagAck }

// nth passes the first n-1 datagrams that match and returns d for the
// n-th; 0 for every other.
func nth(match func([]byte) bool, n int, d time.Duration) func([]byte) time.Duration {
	seen := 0
	return func(b []byte) time.Duration {
		if !match(b) {
			return 0
		}
		seen++
		if seen == n {
			return d
		}
		return 0
	}
}

// every returns d for every datagram that matches.
func every(match func([]byte) bool, d time.Duration) func([]byte) time.Duration {
	return func(b []byte) time.Duration {
		if match(b) {
			return d
		}
		return 0
	}
}

// dropNth drops the n-th datagram that matches.
func dropNth(match func([]byte) bool, n int) func([]byte) time.Duration {
	return nth(match, n, -1)
}

// both combines two rules: the first that holds a datagram decides.
func both(a, b func([]byte) time.Duration) func([]byte) time.Duration {
	return func(x []byte) time.Duration {
		if d := a(x); d != 0 {
			return d
		}
		return b(x)
	}
}

// A handshake slower than the client's SYN retry period (100 ms, the
// default): the client sends its SYN again, with the next sequence, while
// the server's SYN+ACK is on its way. The link opens once, carries
// segments both ways, each once, in order, intact, through the SYNs and
// SYN+ACKs still in flight, and stays open.
func TestSlowHandshake(t *testing.T) {
	if testing.Short() {
		t.Skip("short: loss, retransmit and handshake timing cycles; the full run covers them")
	}
	ms := time.Millisecond
	cases := []struct {
		name     string
		c2s, s2c func([]byte) time.Duration
	}{
		// Every SYN+ACK takes 150 ms: the client opens on the answer to
		// its first SYN after its second reached the server.
		{"synack-late", nil, every(isSynAck, 150*ms)},
		// The first SYN+ACK takes 150 ms and the second SYN 200 ms: the
		// client opens and sends before the server sees its second SYN.
		{"synack-late-syn-later", nth(isSyn, 2, 200*ms), nth(isSynAck, 1, 150*ms)},
		// The first SYN+ACK is late and the second SYN is lost: the
		// server never sees the sequence the client's data follows.
		{"synack-late-syn-lost", dropNth(isSyn, 2), nth(isSynAck, 1, 150*ms)},
		// The second SYN arrives after the third (reordered): the old
		// one comes to a server already answering the newer.
		{"syn-reordered", nth(isSyn, 2, 300*ms), nth(isSynAck, 1, 250*ms)},
		// The first SYN+ACK is lost.
		{"synack-lost", nil, dropNth(isSynAck, 1)},
		// The first SYN+ACK is lost and the second arrives late.
		{"synack-lost-then-late", nil, both(dropNth(isSynAck, 1), nth(isSynAck, 2, 150*ms))},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testutils.Leak(t)
			c2s, s2c := newLossyLink(uint64(200+2*i), 0, 0, 0), newLossyLink(uint64(201+2*i), 0, 0, 0)
			var held []*holder
			for _, x := range []struct {
				l    *lossyLink
				rule func([]byte) time.Duration
			}{{c2s, tc.c2s}, {s2c, tc.s2c}} {
				if x.rule != nil {
					held = append(held, holdBack(x.l, x.rule))
				}
			}
			p := newPair(t, stdOpts(), stdOpts(), c2s, s2c)
			t.Cleanup(func() { // before the pair closes its links
				for _, h := range held {
					h.close()
				}
			})
			p.waitOpen(t, 3*time.Second)
			c2sCol, s2cCol := both2(p, 400)
			round(t, p, c2sCol, s2cCol, 0, 200) // while SYNs and SYN+ACKs are still held
			for _, h := range held {
				if !h.wait(2 * time.Second) {
					t.Fatal("held datagrams not delivered")
				}
			}
			round(t, p, c2sCol, s2cCol, 200, 200) // after they arrived
			checkOneLink(t, p)
		})
	}
}

// both2 connects a collector to each end's application side: what the
// client sends, and what the server sends.
func both2(p *pair, n uint32) (c2s, s2c *collector) {
	c2s = &collector{got: make(chan struct{}), want: n}
	s2c = &collector{got: make(chan struct{}), want: n}
	engine.Connect(p.server.Application(), c2s)
	engine.Connect(p.client.Application(), s2c)
	return c2s, s2c
}

// round sends segments first..first+n-1 from each end at once and waits
// for them at the other.
func round(t *testing.T, p *pair, c2s, s2c *collector, first, n uint32) {
	t.Helper()
	errs := make(chan error, 2)
	go func() { errs <- sendFrom(p.client, first, n) }()
	go func() { errs <- sendFrom(p.server, first, n) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		col  *collector
	}{{"client to server", c2s}, {"server to client", s2c}} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			c.col.mu.Lock()
			next, bad, firstBad := c.col.next, c.col.bad, c.col.first
			c.col.mu.Unlock()
			if bad != 0 {
				t.Fatalf("%s: %d bad segments, first %s", c.name, bad, firstBad)
			}
			if next >= first+n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d segments\nclient %+v\nserver %+v", c.name, next, first+n, p.client.Stats(), p.server.Stats())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// checkOneLink fails unless both ends are open on the link they opened
// first: no reset, no restart, one open each.
func checkOneLink(t *testing.T, p *pair) {
	t.Helper()
	cs, ss := p.client.Stats(), p.server.Stats()
	if !cs.Open || !ss.Open || cs.Opens != 1 || ss.Opens != 1 || ss.Restarts != 0 ||
		cs.Resets+cs.PeerResets+ss.Resets+ss.PeerResets != 0 {
		t.Fatalf("not one link throughout\nclient %+v\nserver %+v", cs, ss)
	}
	t.Logf("handshake mended: client %d, server %d", cs.SynRetries, ss.SynRetries)
}

// A server that answers each SYN retry with a new SYN+ACK (as Rogue's
// server adopts every SYN): our client opened on the first adopts the
// later one, as Rogue's client does, and takes the data that follows it.
func TestClientAdoptsLaterSynAck(t *testing.T) {
	testutils.Leak(t)
	var mu sync.Mutex
	var sent [][]byte
	out := newLossyLink(300, 1, 0, 0) // keeps a copy of each datagram, delivers none
	out.record = func(b []byte) { mu.Lock(); sent = append(sent, append([]byte(nil), b...)); mu.Unlock() }
	cl, err := NewClient(stdOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer out.close()
	defer cl.Close()
	col := &collector{got: make(chan struct{}), want: 1}
	engine.Connect(cl.Application(), col)
	engine.Connect(cl.Transport(), out)
	last := func() []byte { mu.Lock(); defer mu.Unlock(); return sent[len(sent)-1] }
	testutils.Eventually(t, 2*time.Second, "two SYNs", func() bool { mu.Lock(); defer mu.Unlock(); return len(sent) >= 2 })
	seg := make([]byte, SynHeaderSize+segLen(0))
	next := uint8(0)                        // the client's next sequence, once open
	for _, seq := range []uint8{100, 101} { // answers to SYN 100 and 101
		h := Header{Flags: FlagSyn | FlagAck, Seq: seq, Params: RogueDefaults(1464)}
		n, _ := h.Encode(seg)
		injectBytes(cl, seg[:n])
		if next == 0 { // open: no more SYNs
			mu.Lock()
			next = 100 + uint8(len(sent)-1)
			mu.Unlock()
		}
		if b := last(); b[0] != FlagAck || b[2] != next || b[3] != seq {
			t.Fatalf("after SYN+ACK %d: sent %x, want an ACK %d/%d", seq, b, next, seq)
		}
	}
	h := Header{Flags: FlagAck, Seq: 102}
	n, _ := h.Encode(seg)
	fillSegment(seg[n:n+segLen(0)], 0)
	injectBytes(cl, seg[:n+segLen(0)])
	if next, bad := col.wait(2 * time.Second); next != 1 || bad != 0 {
		t.Fatalf("%d segments delivered, %d bad: %+v", next, bad, cl.Stats())
	}
	if s := cl.Stats(); s.SynRetries != 1 || s.Opens != 1 {
		t.Fatalf("%+v", s)
	}
}

func injectBytes(c *Controller, b []byte) {
	f, _ := engine.NewPool().AcceptReq(len(b), true)
	f.WriteAt(b, 0)
	c.Transport().AcceptFrame(f)
	f.Release()
}

// Many handshakes through a link losing 10% of the datagrams each way
// (and duplicating and reordering 5%), with the server's SYN+ACKs late by
// 0 to 250 ms (so that most cross a SYN retry): every one opens, carries
// segments both ways and stays up until closed.
func TestHandshakesUnderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("short: loss, retransmit and handshake timing cycles; the full run covers them")
	}
	cycles := 50
	testutils.Leak(t)
	start := time.Now()
	mended := 0
	for i := range cycles {
		seed := uint64(1000 + 2*i)
		c2s, s2c := newLossyLink(seed, 0.1, 0.05, 0.05), newLossyLink(seed+1, 0.1, 0.05, 0.05)
		rng := rand.New(rand.NewPCG(seed, 7))
		h := holdBack(s2c, func(b []byte) time.Duration {
			if !isSynAck(b) {
				return 0
			}
			return time.Duration(rng.IntN(250)) * time.Millisecond
		})
		p := newPair(t, stdOpts(), stdOpts(), c2s, s2c)
		p.waitOpen(t, 5*time.Second)
		c2sCol, s2cCol := both2(p, 40)
		round(t, p, c2sCol, s2cCol, 0, 20)
		if !h.wait(time.Second) {
			t.Fatal("held SYN+ACKs not delivered")
		}
		round(t, p, c2sCol, s2cCol, 20, 20)
		checkOneLink(t, p)
		if p.client.Stats().SynRetries+p.server.Stats().SynRetries > 0 {
			mended++
		}
		h.close()
		p.close()
		if time.Since(start) > 60*time.Second {
			t.Fatalf("%d handshakes took %v", i+1, time.Since(start))
		}
	}
	t.Logf("%d handshakes, %d mended after a SYN retry, in %v", cycles, mended, time.Since(start))
	if mended == 0 {
		t.Error("no handshake crossed a SYN retry: the test did not test it")
	}
}
