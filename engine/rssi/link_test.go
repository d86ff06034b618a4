package rssi

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/engine"
)

// lossyLink stands in for the network between two controllers, one
// direction: it copies each datagram, drops, duplicates or reorders some
// (seeded, so a failing case can be replayed), and delivers the rest on
// its own goroutine. A full queue drops, as a network would.
type lossyLink struct {
	engine.Master
	pool      *engine.Pool
	lend      *engine.Pool // what the sender builds datagrams in, if not pool
	q         chan engine.Frame
	rng       *rand.Rand
	mu        sync.Mutex
	loss      float64
	dup       float64
	reorder   float64
	held      engine.Frame
	drop      func(b []byte) bool // extra rule: drop when it returns true
	record    func(b []byte)
	dropped   atomic.Uint64
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func newLossyLink(seed uint64, loss, dup, reorder float64) *lossyLink {
	pool, err := engine.NewFixedPool(9000, 1024, 0)
	if err != nil {
		panic(err)
	}
	l := &lossyLink{pool: pool, q: make(chan engine.Frame, 1024), rng: rand.New(rand.NewPCG(seed, seed^0x9e37)),
		loss: loss, dup: dup, reorder: reorder, done: make(chan struct{})}
	l.wg.Add(1)
	go l.run()
	return l
}

// AcceptReq lets the sending controller build its datagrams in the
// link's pool.
func (l *lossyLink) AcceptReq(size int, zeroCopy bool) (engine.Frame, error) {
	if l.lend != nil {
		return l.lend.AcceptReq(size, zeroCopy)
	}
	return l.pool.AcceptReq(size, zeroCopy)
}

func (l *lossyLink) AcceptFrame(f engine.Frame) {
	b, err := f.Bytes()
	if err != nil { // a datagram spread over several buffers
		b = make([]byte, f.Payload())
		f.ReadAt(b, 0)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.record != nil {
		l.record(b)
	}
	if (l.drop != nil && l.drop(b)) || l.rng.Float64() < l.loss {
		l.dropped.Add(1)
		return
	}
	copies := 1
	if l.rng.Float64() < l.dup {
		copies = 2
	}
	for range copies {
		c, err := l.pool.AcceptReq(len(b), true)
		if err != nil {
			l.dropped.Add(1)
			return
		}
		c.WriteAt(b, 0)
		if l.rng.Float64() < l.reorder && !l.held.Valid() {
			l.held = c // goes out after the next datagram
			continue
		}
		l.push(c)
		if l.held.Valid() {
			l.push(l.held)
			l.held = engine.Frame{}
		}
	}
}

func (l *lossyLink) push(c engine.Frame) {
	select {
	case l.q <- c:
	default:
		l.dropped.Add(1)
		c.Release()
	}
}

func (l *lossyLink) run() {
	defer l.wg.Done()
	for {
		select {
		case <-l.done:
			return
		case f := <-l.q:
			l.SendFrame(f)
			f.Release()
		}
	}
}

func (l *lossyLink) close() {
	l.closeOnce.Do(l.shut)
}

func (l *lossyLink) shut() {
	close(l.done)
	l.wg.Wait()
	for {
		select {
		case f := <-l.q:
			f.Release()
		default:
			l.mu.Lock()
			if l.held.Valid() {
				l.held.Release()
				l.held = engine.Frame{}
			}
			l.mu.Unlock()
			return
		}
	}
}

// pair is a client and a server joined by two lossy links.
type pair struct {
	client, server *Controller
	c2s, s2c       *lossyLink
}

func newPair(t testing.TB, copts, sopts Options, c2s, s2c *lossyLink) *pair {
	t.Helper()
	cl, err := NewClient(copts)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := NewServer(sopts)
	if err != nil {
		t.Fatal(err)
	}
	engine.Connect(c2s, sv.Transport())
	engine.Connect(s2c, cl.Transport())
	engine.Connect(sv.Transport(), s2c)
	engine.Connect(cl.Transport(), c2s) // last: the client starts its SYNs
	p := &pair{cl, sv, c2s, s2c}
	t.Cleanup(p.close)
	return p
}

func (p *pair) close() {
	p.client.Close()
	p.server.Close()
	p.c2s.close()
	p.s2c.close()
}

func (p *pair) waitOpen(t testing.TB, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !(p.client.IsOpen() && p.server.IsOpen()) {
		if time.Now().After(deadline) {
			t.Fatalf("link not open after %v: client %+v server %+v", d, p.client.Stats(), p.server.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// collector checks segments arrive once, in order, intact: each carries
// its index in its first 4 bytes and a pattern derived from it.
type collector struct {
	mu    sync.Mutex
	next  uint32
	bad   int
	first string
	got   chan struct{}
	want  uint32
}

func (c *collector) AcceptFrame(f engine.Frame) {
	b, err := f.Bytes()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || len(b) < 4 || !checkSegment(b, c.next) {
		if c.bad == 0 {
			c.first = fmt.Sprintf("segment %d: %x", c.next, b[:min(len(b), 16)])
		}
		c.bad++
	}
	c.next++
	if c.next == c.want {
		close(c.got)
	}
}

// wait waits up to d for every segment and returns how many arrived and
// how many were bad.
func (c *collector) wait(d time.Duration) (next uint32, bad int) {
	select {
	case <-c.got:
	case <-time.After(d):
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next, c.bad
}

func fillSegment(b []byte, i uint32) {
	binary.LittleEndian.PutUint32(b, i)
	for k := 4; k < len(b); k++ {
		b[k] = byte(i*7 + uint32(k))
	}
}

func checkSegment(b []byte, i uint32) bool {
	if binary.LittleEndian.Uint32(b) != i || len(b) != segLen(i) {
		return false
	}
	for k := 4; k < len(b); k++ {
		if b[k] != byte(i*7+uint32(k)) {
			return false
		}
	}
	return true
}

// segLen varies segment sizes from 4 bytes to the standard maximum.
func segLen(i uint32) int { return 4 + int(i*97%1453) }

// sendSegments sends n numbered segments through c's application side.
func sendSegments(c *Controller, n int) error { return sendFrom(c, 0, uint32(n)) }

// sendFrom sends n numbered segments from first through c's application
// side.
func sendFrom(c *Controller, first, n uint32) error {
	app := c.Application()
	for i := first; i < first+n; i++ {
		f, err := app.AcceptReq(segLen(i), true)
		if err != nil {
			return err
		}
		mem, _ := f.Memory()
		fillSegment(mem[:segLen(i)], i)
		f.SetPayload(segLen(i))
		app.AcceptFrame(f)
		refused := f.Error() != 0
		f.Release()
		if refused {
			return fmt.Errorf("segment %d refused: %+v", i, c.Stats())
		}
	}
	return nil
}
