package natsjs

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/natsjs/embedded"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/internal/testutils"
)

// startServer starts an in-process JetStream server on dir (port 0: any)
// and stops it when the test ends, if it is still running.
func startServer(t testing.TB, dir string, port int) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(embedded.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(s.Shutdown) })
	return s
}

func newPublisher(t testing.TB, url, prefix string, edit func(*PublisherOptions)) *Publisher {
	t.Helper()
	o := PublisherOptions{Conn: Conn{URL: url, Prefix: prefix, ConnectTimeout: 5 * time.Second}}
	if edit != nil {
		edit(&o)
	}
	p, err := NewPublisher(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func newReader(t testing.TB, url, prefix string, edit func(*ReaderOptions)) (*Reader, *collector) {
	t.Helper()
	o := ReaderOptions{Conn: Conn{URL: url, Prefix: prefix, ConnectTimeout: 5 * time.Second}}
	if edit != nil {
		edit(&o)
	}
	r, err := NewReader(o)
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	engine.Connect(r, col)
	t.Cleanup(func() { r.Close() })
	return r, col
}

// item is a frame as a test sent or received it.
type item struct {
	ch, errc uint8
	flags    uint16
	data     []byte
}

func (it item) String() string {
	return fmt.Sprintf("ch %d flags %#x err %d size %d", it.ch, it.flags, it.errc, len(it.data))
}

func (it item) equal(o item) bool {
	return it.ch == o.ch && it.flags == o.flags && it.errc == o.errc && bytes.Equal(it.data, o.data)
}

// collector is a slave that keeps a copy of every frame, and may sleep
// per frame to play a slow consumer.
type collector struct {
	mu    sync.Mutex
	items []item
	delay time.Duration
}

func (c *collector) AcceptFrame(f engine.Frame) {
	d := make([]byte, f.Payload())
	if _, err := f.ReadAt(d, 0); err != nil && err != io.EOF {
		panic(err)
	}
	c.mu.Lock()
	c.items = append(c.items, item{ch: f.Channel(), errc: f.Error(), flags: f.Flags(), data: d})
	delay := c.delay
	c.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (c *collector) snapshot() []item {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]item(nil), c.items...)
}

// payload is a PRBS frame (engine/prbs, 32-bit words) where the size
// allows one, else the test pattern.
func payload(seq uint32, size int) []byte {
	b := make([]byte, size)
	if size%4 == 0 && size >= 12 {
		if err := prbs.Fill(b, seq, 32); err != nil {
			panic(err)
		}
		return b
	}
	testutils.FillPattern(b, seq)
	return b
}

// send makes a frame of it and hands it to p.
func send(t testing.TB, pool *engine.Pool, p engine.Slave, it item) {
	t.Helper()
	f, err := pool.AcceptReq(len(it.data), true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if len(it.data) > 0 {
		if _, err := f.Write(it.data); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.SetChannel(it.ch)
	_ = f.SetFlags(it.flags)
	_ = f.SetError(it.errc)
	p.AcceptFrame(f)
}

// checkInvariants checks the counting identities of PublisherStats.
func checkInvariants(t testing.TB, s PublisherStats) {
	t.Helper()
	if s.Frames != s.Batched+s.Dropped() {
		t.Errorf("frames %d != batched %d + dropped %d: %+v", s.Frames, s.Batched, s.Dropped(), s)
	}
	if s.Batched != s.Acked+s.Unacked+s.Pending {
		t.Errorf("batched %d != acked %d + unacked %d + pending %d", s.Batched, s.Acked, s.Unacked, s.Pending)
	}
}
