package xdp

import (
	"sync"
	"sync/atomic"
	"testing"
)

// fakeRing is the shared part of a ring in ordinary memory, so the ring
// logic can be tested against a simulated kernel under the race detector.
type fakeRing[T uint64 | Desc] struct {
	producer, consumer, flags uint32
	entries                   []T
}

func newFake[T uint64 | Desc](size int, start uint32) *fakeRing[T] {
	return &fakeRing[T]{producer: start, consumer: start, entries: make([]T, size)}
}

func (f *fakeRing[T]) user(producerSide bool) *ring[T] {
	var r ring[T]
	r.setup(&f.producer, &f.consumer, &f.flags, f.entries, producerSide)
	return &r
}

// TestRingProducer drives a producer ring (fill/TX) against a simulated
// kernel consumer, starting near the 32-bit wrap of the indices.
func TestRingProducer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: the spinning two-goroutine ring run; TestRingLimits covers the index arithmetic")
	}
	const size, total = 16, 20000
	f := newFake[uint64](size, 0xffffff00)
	r := f.user(true)

	var wg sync.WaitGroup
	wg.Add(1)
	errc := make(chan string, 1)
	go func() { // kernel: consume in order
		defer wg.Done()
		next := uint64(0)
		for next < total {
			prod := atomic.LoadUint32(&f.producer)
			cons := f.consumer
			if prod-cons > size {
				errc <- "producer overran the consumer"
				return
			}
			for ; cons != prod; cons++ {
				if v := f.entries[cons&(size-1)]; v != next {
					errc <- "out of order"
					return
				}
				next++
			}
			atomic.StoreUint32(&f.consumer, cons)
		}
	}()
	sent := uint64(0)
	for sent < total {
		want := uint32(min(7, total-sent))
		idx, got := r.reserve(want)
		if got > want {
			t.Fatalf("reserved %d of %d", got, want)
		}
		for i := range got {
			*r.at(idx + i) = sent + uint64(i)
		}
		r.submit(got)
		sent += uint64(got)
	}
	wg.Wait()
	select {
	case e := <-errc:
		t.Fatal(e)
	default:
	}
	if r.pending() != 0 {
		t.Fatalf("%d pending after the consumer finished", r.pending())
	}
	if r.free(size) != size {
		t.Fatalf("free %d, want %d", r.free(size), size)
	}
}

// TestRingConsumer drives a consumer ring (RX/completion) against a
// simulated kernel producer of descriptors.
func TestRingConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: the spinning two-goroutine ring run; TestRingLimits covers the index arithmetic")
	}
	const size, total = 32, 20000
	f := newFake[Desc](size, 0xfffffff0)
	r := f.user(false)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // kernel: produce when there is room
		defer wg.Done()
		next := uint64(0)
		for next < total {
			cons := atomic.LoadUint32(&f.consumer)
			prod := f.producer
			for ; prod-cons < size && next < total; prod++ {
				f.entries[prod&(size-1)] = Desc{Addr: next, Len: uint32(next), Options: uint32(next & 1)}
				next++
			}
			atomic.StoreUint32(&f.producer, prod)
		}
	}()
	next := uint64(0)
	for next < total {
		idx, got := r.peek(5)
		if got > 5 {
			t.Fatalf("peeked %d of 5", got)
		}
		for i := range got {
			d := *r.at(idx + i)
			if d.Addr != next || d.Len != uint32(next) || d.Options != uint32(next&1) {
				t.Fatalf("entry %d: %+v", next, d)
			}
			next++
		}
		r.release(got)
	}
	wg.Wait()
	if _, got := r.peek(1); got != 0 {
		t.Fatalf("%d entries after the producer finished", got)
	}
}

// TestRingLimits checks the arithmetic at the edges without concurrency.
func TestRingLimits(t *testing.T) {
	f := newFake[uint64](4, 0xfffffffe)
	p := f.user(true)
	if _, got := p.reserve(10); got != 4 {
		t.Fatalf("reserve on empty ring of 4 granted %d", got)
	}
	p.submit(3)
	if f.producer != 1 { // wrapped
		t.Fatalf("producer index %#x", f.producer)
	}
	if _, got := p.reserve(10); got != 1 {
		t.Fatalf("reserve with 3 outstanding granted %d", got)
	}
	f.consumer += 2 // kernel consumed two
	if _, got := p.reserve(1); got != 1 {
		t.Fatalf("cached far index: granted %d", got)
	}
	if _, got := p.reserve(3); got != 3 {
		t.Fatalf("refresh of far index: granted %d", got)
	}
	if p.needWakeup() {
		t.Fatal("need wakeup without flag")
	}
	f.flags = ringNeedWakeup
	if !p.needWakeup() {
		t.Fatal("flag not seen")
	}

	c := newFake[uint64](4, 7)
	cr := c.user(false)
	if _, got := cr.peek(4); got != 0 {
		t.Fatalf("peek on empty ring: %d", got)
	}
	c.entries[7&3], c.entries[8&3] = 70, 80
	c.producer = 9
	idx, got := cr.peek(4)
	if got != 2 || *cr.at(idx) != 70 || *cr.at(idx + 1) != 80 {
		t.Fatalf("peek: idx %d got %d", idx, got)
	}
	cr.release(1)
	if c.consumer != 8 {
		t.Fatalf("consumer index %d", c.consumer)
	}
	if _, got := cr.peek(4); got != 1 {
		t.Fatalf("after release: %d", got)
	}
}

func TestNextPacket(t *testing.T) {
	descs := []Desc{
		{Addr: 1, Len: 10},
		{Addr: 2, Len: 4000, Options: OptContinued},
		{Addr: 3, Len: 4000, Options: OptContinued},
		{Addr: 4, Len: 972},
		{Addr: 5, Len: 20},
	}
	var lens []int
	for rest := descs; len(rest) > 0; {
		var pkt []Desc
		pkt, rest = NextPacket(rest)
		lens = append(lens, len(pkt))
		if len(pkt) == 3 && packetLen(pkt) != 8972 {
			t.Fatalf("PacketLen %d", packetLen(pkt))
		}
	}
	if len(lens) != 3 || lens[0] != 1 || lens[1] != 3 || lens[2] != 1 {
		t.Fatalf("packets of %v frames", lens)
	}
	pkt, rest := NextPacket(descs[1:3])
	if len(pkt) != 2 || rest != nil {
		t.Fatal("partial packet not returned whole")
	}
	if pkt, rest := NextPacket(nil); len(pkt) != 0 || len(rest) != 0 {
		t.Fatal("empty batch")
	}
}

func TestModeString(t *testing.T) {
	for m, s := range map[Mode]string{
		ModeAuto: "auto", ModeNativeZeroCopy: "native-zerocopy", ModeNativeCopy: "native-copy",
		ModeGenericCopy: "generic-copy", Mode(42): "mode(42)",
	} {
		if m.String() != s {
			t.Errorf("%d: %q, want %q", m, m.String(), s)
		}
	}
	if !ModeNativeCopy.native() || ModeGenericCopy.native() || !ModeNativeZeroCopy.zeroCopy() || ModeNativeCopy.zeroCopy() {
		t.Error("mode predicates")
	}
}
