package natsjs

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/internal/testutils"
)

// produce sends 1472-byte PRBS frames alternately on channels 0 and 1
// until stop is closed, pausing every 64 frames so the run spans the
// test's events, and returns how many it sent.
func produce(t testing.TB, p *Publisher, stop <-chan struct{}, sent *atomic.Uint64) {
	pool := engine.NewPool()
	for seq := uint32(1); ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		send(t, pool, p, item{ch: uint8(seq & 1), data: payload(seq, 1472)})
		sent.Add(1)
		if seq%64 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestBrokerRestart stops the server mid-run and starts a new one on the
// same store and port. No acknowledged frame is lost: a reader made
// afterwards reads exactly the acknowledged frames, once each, in order
// per channel, and the counters account for every frame not acknowledged.
func TestBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("short: kills and restarts the broker mid-run; TestServerGone covers losing it")
	}
	testutils.Leak(t)
	dir := t.TempDir()
	srv := startServer(t, dir, 0)
	port := srv.Port()
	pub := newPublisher(t, srv.URL(), "restart", func(o *PublisherOptions) {
		o.AckTimeout, o.MaxWait, o.RetryFor = 500*time.Millisecond, 20*time.Millisecond, 20*time.Second
		o.MaxPendingBytes, o.CloseTimeout = 4<<20, 20*time.Second
	})
	const run = 300 * time.Millisecond
	stop := make(chan struct{})
	var sent atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() { produce(t, pub, stop, &sent) })
	time.Sleep(run)
	before := pub.Stats()
	srv.Shutdown()
	time.Sleep(run)
	srv = startServer(t, dir, port)
	time.Sleep(run)
	close(stop)
	wg.Wait()
	start := time.Now()
	pub.Close()
	s := pub.Stats()
	t.Logf("sent %d; acked %d (%d before the kill); not acked %d: dropped full %d, unacked %d; resent %d messages, %d duplicates; close took %v",
		sent.Load(), s.Acked, before.Acked, s.NotAcked(), s.DroppedFull, s.Unacked, s.Resent, s.Duplicates, time.Since(start))
	checkInvariants(t, s)
	if s.Frames != sent.Load() || s.Pending != 0 || s.Acked <= before.Acked {
		t.Fatalf("stats %+v after sending %d", s, sent.Load())
	}
	if s.NotAcked() != s.Dropped()+s.Unacked {
		t.Fatalf("not acked %d != dropped %d + unacked %d", s.NotAcked(), s.Dropped(), s.Unacked)
	}
	r, col := newReader(t, srv.URL(), "restart", nil)
	testutils.Eventually(t, 20*time.Second, "acked frames read", func() bool { return col.len() >= int(s.Acked) },
		func() string { return "read " + strconv.Itoa(col.len()) })
	time.Sleep(200 * time.Millisecond) // nothing more may come
	got := col.snapshot()
	rs := r.Stats()
	if uint64(len(got)) != s.Acked || rs.Backward != 0 || rs.Malformed != 0 {
		t.Fatalf("read %d frames, acked %d; reader %+v", len(got), s.Acked, rs)
	}
	if s.Unacked == 0 && rs.Gaps != 0 {
		t.Fatalf("%d frames missing by sequence with none given up", rs.Gaps)
	}
	checkPRBS(t, got)
}

// TestServerGone: with the server stopped for good, AcceptFrame waits at
// most MaxWait once, then drops and counts; Close returns within its
// bound, and every frame is in one counter.
func TestServerGone(t *testing.T) {
	if testing.Short() {
		t.Skip("short: waits on broker and connect timeouts; the full run covers it")
	}
	testutils.Leak(t)
	srv := startServer(t, t.TempDir(), 0)
	pub := newPublisher(t, srv.URL(), "gone", func(o *PublisherOptions) {
		o.AckTimeout, o.MaxWait, o.RetryFor = 100*time.Millisecond, 50*time.Millisecond, 300*time.Millisecond
		o.MaxPendingBytes, o.CloseTimeout = 256<<10, 500*time.Millisecond
	})
	pool := engine.NewPool()
	for seq := uint32(1); seq <= 200; seq++ {
		send(t, pool, pub, item{data: payload(seq, 1472)})
	}
	srv.Shutdown()
	start := time.Now()
	for seq := uint32(201); seq <= 3000; seq++ {
		send(t, pool, pub, item{data: payload(seq, 1472)})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("2800 frames with the server gone took %v: AcceptFrame kept waiting", d)
	}
	start = time.Now()
	pub.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	s := pub.Stats()
	t.Logf("%+v", s)
	checkInvariants(t, s)
	if s.Frames != 3000 || s.Pending != 0 || s.DroppedFull == 0 || s.Acked+s.Unacked+s.Dropped() != 3000 {
		t.Fatalf("stats %+v", s)
	}
}

// TestSlowConsumer: a reader whose slave is slow does not slow the
// publisher (the stream holds the frames); it reads them all, in order,
// and Close stops it promptly mid-stream.
func TestSlowConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: waits on broker and connect timeouts; the full run covers it")
	}
	testutils.Leak(t)
	srv := startServer(t, t.TempDir(), 0)
	n := 3000
	r, col := newReader(t, srv.URL(), "slow", func(o *ReaderOptions) { o.Durable = "slow"; o.PullBytes = 256 << 10 })
	col.mu.Lock()
	col.delay = 100 * time.Microsecond
	col.mu.Unlock()
	pub := newPublisher(t, srv.URL(), "slow", nil)
	pool := engine.NewPool()
	var sent []item
	for seq := uint32(1); seq <= uint32(n); seq++ {
		it := item{ch: 3, data: payload(seq, 1472)}
		sent = append(sent, it)
		send(t, pool, pub, it)
	}
	pub.Close()
	if s := pub.Stats(); s.Acked != uint64(n) {
		t.Fatalf("publisher stats %+v", s)
	}
	if col.len() >= n {
		t.Fatalf("the slow reader had all %d frames before the publisher finished", n)
	}
	testutils.Eventually(t, 30*time.Second, "all frames read", func() bool { return col.len() >= n })
	checkPerChannel(t, sent, col.snapshot())
	start := time.Now()
	r.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
}

// TestDurableResume: a durable reader closed mid-stream and made again
// reads on from where it stopped: every frame at least once, the repeats
// at most the message that was being sent at Close.
func TestDurableResume(t *testing.T) {
	if testing.Short() {
		t.Skip("short: waits on broker and connect timeouts; the full run covers it")
	}
	testutils.Leak(t)
	srv := startServer(t, t.TempDir(), 0)
	pub := newPublisher(t, srv.URL(), "resume", func(o *PublisherOptions) { o.BatchBytes = 16 << 10 })
	pool := engine.NewPool()
	const n = 2000
	for seq := uint32(1); seq <= n; seq++ {
		send(t, pool, pub, item{data: payload(seq, 1000)})
	}
	pub.Close()
	r1, c1 := newReader(t, srv.URL(), "resume", func(o *ReaderOptions) { o.Durable = "d1"; o.PullBytes = 64 << 10 })
	c1.mu.Lock()
	c1.delay = 200 * time.Microsecond
	c1.mu.Unlock()
	testutils.Eventually(t, 10*time.Second, "some frames read", func() bool { return c1.len() >= n/4 })
	r1.Close()
	first := c1.snapshot()
	if len(first) >= n {
		t.Fatalf("the first reader read all %d frames before Close", len(first))
	}
	_, c2 := newReader(t, srv.URL(), "resume", func(o *ReaderOptions) { o.Durable = "d1" })
	testutils.Eventually(t, 10*time.Second, "the rest read", func() bool { return len(first)+c2.len() >= n })
	time.Sleep(100 * time.Millisecond)
	seen := map[uint32]int{}
	for _, it := range append(first, c2.snapshot()...) {
		seq, err := prbs.Verify(it.data, 32)
		if err != nil {
			t.Fatal(err)
		}
		seen[seq]++
	}
	repeats := len(first) + c2.len() - n
	if len(seen) != n || repeats > 16 { // 16 frames of 1000 B fill one 16 KiB message
		t.Fatalf("%d distinct of %d, %d repeats", len(seen), n, repeats)
	}
}

// TestUnreachable: a refused port and a silent listener both fail with
// ErrConnect within the connect timeout.
func TestUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("short: waits on broker and connect timeouts; the full run covers it")
	}
	testutils.Leak(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		silent.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	for _, addr := range []string{refused, silent.Addr().String()} {
		const timeout = 500 * time.Millisecond
		start := time.Now()
		_, err := NewPublisher(PublisherOptions{Conn: Conn{URL: "nats://" + addr, Prefix: "x", ConnectTimeout: timeout}})
		if !errors.Is(err, ErrConnect) {
			t.Fatalf("%s: publisher err = %v, want ErrConnect", addr, err)
		}
		_, err = NewReader(ReaderOptions{Conn: Conn{URL: "nats://" + addr, Prefix: "x", ConnectTimeout: timeout}})
		if !errors.Is(err, ErrConnect) {
			t.Fatalf("%s: reader err = %v, want ErrConnect", addr, err)
		}
		if d := time.Since(start); d > 4*timeout {
			t.Fatalf("%s: two refusals took %v", addr, d)
		}
		t.Logf("%s: %v after %v", addr, err, time.Since(start))
	}
}
