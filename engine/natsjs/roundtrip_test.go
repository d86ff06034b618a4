package natsjs

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/internal/testutils"
)

// TestRoundTrip publishes frames of 0 bytes to 1 MB on several channels,
// with every flag, error and size, and reads them back exactly, in order
// per channel, PRBS payloads intact.
func TestRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("short: starts a JetStream server and streams through it; the full run covers it")
	}
	testutils.Leak(t)
	srv := startServer(t, t.TempDir(), 0)
	sizes := []int{0, 1, 3, 12, 100, 1472, 8972, 65536 - 32, 65536, 100_000, 1_000_000}
	channels := []uint8{0, 1, 7, 255}
	pub := newPublisher(t, srv.URL(), "rt", nil)
	pool := engine.NewPool()
	var sent []item
	seq := uint32(0)
	for rep := range 3 {
		for _, size := range sizes {
			for _, ch := range channels {
				seq++
				it := item{ch: ch, flags: uint16(seq * 2654435761), errc: uint8(seq + uint32(rep)), data: payload(seq, size)}
				sent = append(sent, it)
				send(t, pool, pub, it)
			}
		}
	}
	pub.Close()
	s := pub.Stats()
	checkInvariants(t, s)
	if s.Acked != uint64(len(sent)) || s.Pending != 0 || s.Dropped() != 0 {
		t.Fatalf("acked %d of %d: %+v", s.Acked, len(sent), s)
	}
	r, col := newReader(t, srv.URL(), "rt", nil)
	testutils.Eventually(t, 20*time.Second, "all frames read", func() bool { return col.len() >= len(sent) },
		func() string { return "read " + strconv.Itoa(col.len()) })
	got := col.snapshot()
	checkPerChannel(t, sent, got)
	checkPRBS(t, got)
	if rs := r.Stats(); rs.Frames != uint64(len(sent)) || rs.Gaps != 0 || rs.Backward != 0 || rs.Malformed != 0 {
		t.Fatalf("reader stats %+v", rs)
	}
}

// checkPerChannel checks that got holds sent, each channel in order.
func checkPerChannel(t testing.TB, sent, got []item) {
	t.Helper()
	if len(got) != len(sent) {
		t.Fatalf("read %d frames, sent %d", len(got), len(sent))
	}
	want := map[uint8][]item{}
	for _, it := range sent {
		want[it.ch] = append(want[it.ch], it)
	}
	pos := map[uint8]int{}
	for i, g := range got {
		w := want[g.ch]
		k := pos[g.ch]
		if k >= len(w) || !g.equal(w[k]) {
			t.Fatalf("frame %d read (%v) is not frame %d of channel %d sent", i, g, k, g.ch)
		}
		pos[g.ch]++
	}
}

// checkPRBS verifies every payload that has PRBS size.
func checkPRBS(t testing.TB, got []item) {
	t.Helper()
	n := 0
	for i, g := range got {
		if len(g.data)%4 == 0 && len(g.data) >= 12 {
			if _, err := prbs.Verify(g.data, 32); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no PRBS frame checked")
	}
}

// TestOversizeFrameDropped: a frame the server's message limit cannot hold
// is dropped and counted, and frames around it still go through.
func TestOversizeFrameDropped(t *testing.T) {
	testutils.Leak(t)
	srv := startServer(t, t.TempDir(), 0)
	pub := newPublisher(t, srv.URL(), "big", nil)
	pool := engine.NewPool()
	send(t, pool, pub, item{data: payload(1, 100)})
	send(t, pool, pub, item{data: payload(2, 1<<20)})
	send(t, pool, pub, item{data: payload(3, 100)})
	pub.Close()
	s := pub.Stats()
	checkInvariants(t, s)
	if s.DroppedOversize != 1 || s.Acked != 2 {
		t.Fatalf("stats %+v, want 1 oversize and 2 acked", s)
	}
	pub.AcceptFrame(engine.Frame{})
	send(t, pool, pub, item{data: payload(4, 100)})
	if s := pub.Stats(); s.DroppedInvalid != 1 || s.DroppedClosed != 1 {
		t.Fatalf("after close: %+v, want 1 invalid and 1 closed", s)
	}
}

// TestBadOptions: each bad setting is refused with its sentinel before any
// connection is tried.
func TestBadOptions(t *testing.T) {
	testutils.Leak(t)
	cases := []struct {
		name string
		o    PublisherOptions
		want error
	}{
		{"no url", PublisherOptions{Conn: Conn{Prefix: "a"}}, ErrBadURL},
		{"http url", PublisherOptions{Conn: Conn{URL: "http://127.0.0.1:4222", Prefix: "a"}}, ErrBadURL},
		{"no port", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1", Prefix: "a"}}, ErrBadURL},
		{"garbage", PublisherOptions{Conn: Conn{URL: "nats://[::1", Prefix: "a"}}, ErrBadURL},
		{"query", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:4222?x=1", Prefix: "a"}}, ErrBadURL},
		{"no prefix", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:4222"}}, ErrOptions},
		{"wildcard prefix", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:4222", Prefix: "a.*"}}, ErrOptions},
		{"empty token", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:4222", Prefix: "a..b"}}, ErrOptions},
		{"bad stream", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:4222", Prefix: "a", Stream: "x.y"}}, ErrOptions},
		{"tiny batch", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:4222", Prefix: "a"}, BatchBytes: 8}, ErrOptions},
		{"pending < batch", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:4222", Prefix: "a"}, MaxPendingBytes: 1000}, ErrOptions},
		{"negative wait", PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:4222", Prefix: "a"}, MaxWait: -1}, ErrOptions},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			p, err := NewPublisher(c.o)
			if !errors.Is(err, c.want) {
				if p != nil {
					p.Close()
				}
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("refusal took %v", d)
			}
		})
	}
	if _, err := NewReader(ReaderOptions{Conn: Conn{URL: "nats://127.0.0.1:4222", Prefix: "a"}, Durable: "a.b"}); !errors.Is(err, ErrOptions) {
		t.Fatalf("reader with a dotted durable name: %v", err)
	}
}

func TestParseTarget(t *testing.T) {
	c, err := ParseTarget("nats://127.0.0.1:4222/det.readout")
	if err != nil || c.URL != "nats://127.0.0.1:4222" || c.Prefix != "det.readout" {
		t.Fatalf("got %+v, %v", c, err)
	}
	for _, bad := range []string{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222/a b", "127.0.0.1:4222/x", "nats://h/x"} {
		if _, err := ParseTarget(bad); !errors.Is(err, ErrBadURL) {
			t.Errorf("%q: err = %v, want ErrBadURL", bad, err)
		}
	}
}

// TestStreamOfOtherSubjects: a stream that exists under the name but does
// not take the prefix's subjects is refused with ErrStream, not published
// into in vain.
func TestStreamOfOtherSubjects(t *testing.T) {
	testutils.Leak(t)
	srv := startServer(t, t.TempDir(), 0)
	first := newPublisher(t, srv.URL(), "one", func(o *PublisherOptions) { o.Stream = "shared" })
	first.Close()
	_, err := NewPublisher(PublisherOptions{Conn: Conn{URL: srv.URL(), Prefix: "two", Stream: "shared", ConnectTimeout: 5 * time.Second}})
	if !errors.Is(err, ErrStream) {
		t.Fatalf("err = %v, want ErrStream", err)
	}
	t.Log(err)
}

// TestStartOptions: a reader made with StartSeq or StartTime begins at
// that message, not at the start of the stream.
func TestStartOptions(t *testing.T) {
	testutils.Leak(t)
	srv := startServer(t, t.TempDir(), 0)
	pool := engine.NewPool()
	publish := func(first, n uint32) {
		pub := newPublisher(t, srv.URL(), "start", nil)
		for seq := first; seq < first+n; seq++ {
			send(t, pool, pub, item{data: payload(seq, 1000)})
		}
		pub.Close()
		if s := pub.Stats(); s.Acked != uint64(n) || s.AckedMessages == 0 {
			t.Fatalf("stats %+v", s)
		}
	}
	publish(1, 100) // 100 frames of 1016 bytes: two messages of 64 KiB or less
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	publish(101, 50)
	firstSeq := func(edit func(*ReaderOptions), want int) uint32 {
		_, col := newReader(t, srv.URL(), "start", edit)
		testutils.Eventually(t, 10*time.Second, "frames read", func() bool { return col.len() >= want })
		seq, err := prbs.Verify(col.snapshot()[0].data, 32)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	if seq := firstSeq(func(o *ReaderOptions) { o.StartTime = mid }, 50); seq != 101 {
		t.Fatalf("from the time between the runs: first frame %d, want 101", seq)
	}
	if seq := firstSeq(func(o *ReaderOptions) { o.StartSeq = 2 }, 100-64+50); seq != 65 {
		t.Fatalf("from stream sequence 2: first frame %d, want 65 (64 frames fill the first message)", seq)
	}
}

// TestReaderWaitsForItsSlave: a Reader made on a stream that already holds
// frames reads none of them before a slave is attached, however late that
// is; then the slave gets every one.
func TestReaderWaitsForItsSlave(t *testing.T) {
	testutils.Leak(t)
	srv := startServer(t, t.TempDir(), 0)
	pool := engine.NewPool()
	pub := newPublisher(t, srv.URL(), "late", nil)
	const n = 200
	for seq := uint32(1); seq <= n; seq++ {
		send(t, pool, pub, item{data: payload(seq, 1000)})
	}
	pub.Close()
	r, err := NewReader(ReaderOptions{Conn: Conn{URL: srv.URL(), Prefix: "late", ConnectTimeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	time.Sleep(300 * time.Millisecond) // time enough to read every message
	if s := r.Stats(); s.Frames != 0 || s.Messages != 0 {
		t.Fatalf("read before a slave was attached: %+v", s)
	}
	col := &collector{}
	engine.Connect(r, col)
	testutils.Eventually(t, 10*time.Second, "frames read", func() bool { return col.len() >= n })
	if s := r.Stats(); col.len() != n || s.Frames != n {
		t.Fatalf("slave got %d frames, reader %+v; want %d", col.len(), s, n)
	}
}
