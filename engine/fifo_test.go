package engine

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
	"udpstream.dev/ring"
)

// fifoTimeout bounds every wait in these tests.
const fifoTimeout = 10 * time.Second

// fifoSink records the first 8 bytes of every frame it receives, on the
// Fifo's goroutine, and can hold delivery until its gate opens.
type fifoSink struct {
	mu     sync.Mutex
	seqs   []uint64
	meta   []uint32 // channel<<24 | error<<16 | flags
	sizes  []int
	gate   chan struct{} // nil: never wait
	inside chan struct{} // receives once per frame that waits at the gate
	want   int
	full   chan struct{} // closed when want frames have arrived
}

func newFifoSink(want int) *fifoSink {
	return &fifoSink{want: want, full: make(chan struct{})}
}

func (s *fifoSink) AcceptFrame(f Frame) {
	if s.gate != nil {
		s.inside <- struct{}{}
		<-s.gate
	}
	var b [8]byte
	f.ReadAt(b[:], 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = append(s.seqs, binary.LittleEndian.Uint64(b[:]))
	s.meta = append(s.meta, uint32(f.Channel())<<24|uint32(f.Error())<<16|uint32(f.Flags()))
	s.sizes = append(s.sizes, f.Payload())
	if len(s.seqs) == s.want {
		close(s.full)
	}
}

func (s *fifoSink) waitFull(t *testing.T) {
	t.Helper()
	select {
	case <-s.full:
	case <-time.After(fifoTimeout):
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("sink got %d of %d frames", len(s.seqs), s.want)
	}
}

func (s *fifoSink) waitInside(t *testing.T) {
	t.Helper()
	select {
	case <-s.inside:
	case <-time.After(fifoTimeout):
		t.Fatal("no frame reached the sink")
	}
}

// sendSeq sends one frame carrying seq in its first 8 bytes. It may run on
// any goroutine, so it reports failures with Error.
func sendSeq(t testing.TB, m *Master, size int, seq uint64) {
	t.Helper()
	f, err := m.ReqFrame(size, true)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Release()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seq)
	if _, err := f.WriteAt(b[:], 0); err != nil {
		t.Error(err)
		return
	}
	f.SetPayload(size)
	if err := m.SendFrame(f); err != nil {
		t.Error(err)
	}
}

func mustFifo(t testing.TB, opts FifoOptions) *Fifo {
	t.Helper()
	f, err := NewFifo(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFifoDeliversInOrder(t *testing.T) {
	testutils.Leak(t)
	pool, _ := NewFixedPool(256, 64, 0)
	var m Master
	m.SetPool(pool)
	fifo := mustFifo(t, FifoOptions{Block: true, MaxDepth: 16})
	const n = 5000
	sink := newFifoSink(n)
	if err := Chain(&m, fifo, sink); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		sendSeq(t, &m, 100, uint64(i))
	}
	sink.waitFull(t)
	fifo.Close()
	for i, s := range sink.seqs {
		if s != uint64(i) {
			t.Fatalf("frame %d carried %d", i, s)
		}
	}
	if fifo.Drops() != 0 || pool.AllocCount() != 0 {
		t.Fatalf("drops %d, buffers out %d", fifo.Drops(), pool.AllocCount())
	}
}

// TestFifoManyProducers feeds one blocking Fifo from several masters at
// once: nothing may be lost and each producer's frames stay in order.
func TestFifoManyProducers(t *testing.T) {
	testutils.Leak(t)
	const producers, each = 4, 3000
	fifo := mustFifo(t, FifoOptions{Block: true, MaxDepth: 8})
	sink := newFifoSink(producers * each)
	Connect(fifo, sink)
	pool, _ := NewFixedPool(64, 256, 0)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			var m Master
			m.SetPool(pool)
			Connect(&m, fifo)
			for i := range each {
				sendSeq(t, &m, 16, uint64(p)<<32|uint64(i))
			}
		})
	}
	wg.Wait()
	sink.waitFull(t)
	fifo.Close()
	next := make([]uint64, producers)
	for _, s := range sink.seqs {
		p, i := s>>32, s&0xffffffff
		if i != next[p] {
			t.Fatalf("producer %d: frame %d arrived when %d was due", p, i, next[p])
		}
		next[p]++
	}
	if fifo.Drops() != 0 || pool.AllocCount() != 0 {
		t.Fatalf("drops %d, buffers out %d", fifo.Drops(), pool.AllocCount())
	}
}

// TestFifoDropsWhenFull holds the slave so the queue fills, and checks that
// overflow is dropped, counted and released, and the rest delivered.
func TestFifoDropsWhenFull(t *testing.T) {
	testutils.Leak(t)
	pool, _ := NewFixedPool(64, 64, 0)
	var m Master
	m.SetPool(pool)
	fifo := mustFifo(t, FifoOptions{MaxDepth: 5}) // rounded up to 8
	sink := newFifoSink(1 + 8)
	sink.gate, sink.inside = make(chan struct{}), make(chan struct{}, 100)
	Chain(&m, fifo, sink)

	sendSeq(t, &m, 32, 0)
	sink.waitInside(t) // frame 0 is held in the slave, the queue is empty
	for i := 1; i <= 20; i++ {
		sendSeq(t, &m, 32, uint64(i))
	}
	if fifo.Depth() != 8 || fifo.Drops() != 12 {
		t.Fatalf("depth %d drops %d, want 8 and 12", fifo.Depth(), fifo.Drops())
	}
	if pool.AllocCount() != 9 {
		t.Fatalf("%d buffers out, want the 9 frames held", pool.AllocCount())
	}
	close(sink.gate)
	sink.waitFull(t)
	fifo.Close()
	for i, s := range sink.seqs {
		if s != uint64(i) {
			t.Fatalf("delivered frame %d carried %d", i, s)
		}
	}
	if pool.AllocCount() != 0 || fifo.Drops() != 12 {
		t.Fatalf("after close: %d buffers out, %d drops", pool.AllocCount(), fifo.Drops())
	}
}

// TestFifoCloseReleasesQueued closes a Fifo with frames queued behind a
// held slave: they are released and counted, later frames too, and the
// goroutine is gone.
func TestFifoCloseReleasesQueued(t *testing.T) {
	testutils.Leak(t)
	pool, _ := NewFixedPool(64, 64, 0)
	var m Master
	m.SetPool(pool)
	fifo := mustFifo(t, FifoOptions{MaxDepth: 16})
	sink := newFifoSink(-1)
	sink.gate, sink.inside = make(chan struct{}), make(chan struct{}, 100)
	Chain(&m, fifo, sink)
	for i := range 6 {
		sendSeq(t, &m, 32, uint64(i))
	}
	sink.waitInside(t)
	closed := make(chan struct{})
	go func() {
		fifo.Close()
		close(closed)
	}()
	// Close waits for the frame in the slave: let it go once Close has
	// turned the Fifo away, so the queued frames are not delivered.
	deadline := time.Now().Add(fifoTimeout)
	for !fifo.closed.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(sink.gate)
	select {
	case <-closed:
	case <-time.After(fifoTimeout):
		t.Fatal("Close did not return")
	}
	if len(sink.seqs) != 1 || fifo.Drops() != 5 {
		t.Fatalf("delivered %d, dropped %d; want 1 and 5", len(sink.seqs), fifo.Drops())
	}
	if pool.AllocCount() != 0 {
		t.Fatalf("%d buffers out after Close", pool.AllocCount())
	}
	// After Close: dropped, counted, no reference kept.
	f, _ := pool.AcceptReq(10, true)
	fifo.AcceptFrame(f)
	if fifo.Drops() != 6 {
		t.Fatalf("drops %d after a late frame", fifo.Drops())
	}
	if err := f.Release(); err != nil || pool.AllocCount() != 0 {
		t.Fatalf("late frame: release %v, %d buffers out", err, pool.AllocCount())
	}
	if err := fifo.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fifo.ReqFrame(10, true); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReqFrame after Close: %v", err)
	}
}

// TestFifoCloseWakesBlockedProducer closes a full blocking Fifo while a
// producer waits for room: the producer returns and its frame is counted.
func TestFifoCloseWakesBlockedProducer(t *testing.T) {
	testutils.Leak(t)
	pool, _ := NewFixedPool(64, 64, 0)
	var m Master
	m.SetPool(pool)
	fifo := mustFifo(t, FifoOptions{MaxDepth: 2, Block: true})
	sink := newFifoSink(-1)
	sink.gate, sink.inside = make(chan struct{}), make(chan struct{}, 100)
	Chain(&m, fifo, sink)
	sendSeq(t, &m, 32, 0)
	sink.waitInside(t)
	sendSeq(t, &m, 32, 1)
	sendSeq(t, &m, 32, 2) // queue full
	producerDone := make(chan struct{})
	go func() {
		sendSeq(t, &m, 32, 3) // blocks
		close(producerDone)
	}()
	select {
	case <-producerDone:
		t.Fatal("producer did not block on a full queue")
	case <-time.After(20 * time.Millisecond):
	}
	closeDone := make(chan struct{})
	go func() {
		fifo.Close()
		close(closeDone)
	}()
	select {
	case <-producerDone:
	case <-time.After(fifoTimeout):
		t.Fatal("Close did not release the blocked producer")
	}
	close(sink.gate)
	select {
	case <-closeDone:
	case <-time.After(fifoTimeout):
		t.Fatal("Close did not return")
	}
	if got := uint64(len(sink.seqs)) + fifo.Drops(); got != 4 || fifo.Drops() != 3 {
		t.Fatalf("delivered %d + dropped %d, want 1 + 3", len(sink.seqs), fifo.Drops())
	}
	if pool.AllocCount() != 0 {
		t.Fatalf("%d buffers out", pool.AllocCount())
	}
}

// TestFifoCloseRace closes Fifos while producers hammer them, for the race
// detector and the reference accounting.
func TestFifoCloseRace(t *testing.T) {
	testutils.Leak(t)
	for round := range 20 {
		pool, _ := NewFixedPool(64, 256, 0)
		fifo := mustFifo(t, FifoOptions{MaxDepth: 4, Block: round%2 == 0})
		var count BaseSlave
		Connect(fifo, &count)
		const producers, each = 3, 300
		var wg sync.WaitGroup
		for range producers {
			wg.Go(func() {
				for range each {
					f, err := pool.AcceptReq(8, true)
					if err != nil {
						t.Error(err)
						return
					}
					fifo.AcceptFrame(f)
					f.Release()
				}
			})
		}
		time.Sleep(time.Duration(round%4) * 100 * time.Microsecond)
		fifo.Close()
		wg.Wait()
		if got := count.FrameCount() + fifo.Drops(); got != producers*each {
			t.Fatalf("round %d: delivered %d + dropped %d != %d", round, count.FrameCount(), fifo.Drops(), producers*each)
		}
		if pool.AllocCount() != 0 {
			t.Fatalf("round %d: %d buffers out", round, pool.AllocCount())
		}
	}
}

func TestFifoCopy(t *testing.T) {
	testutils.Leak(t)
	src, _ := NewFixedPool(100, 16, 0)
	copies, _ := NewFixedPool(48, 64, 0)
	fifo := mustFifo(t, FifoOptions{Copy: true, TrimSize: 120, Pool: copies, Block: true})
	sink := newFifoSink(2)
	Connect(fifo, sink)

	data := make([]byte, 250)
	for i := range data {
		data[i] = byte(i)
	}
	for i, size := range []int{250, 60} {
		f, _ := src.AcceptReq(size, true)
		f.WriteAt(data[:size], 0)
		f.SetChannel(uint8(3 + i))
		f.SetError(7)
		f.SetFlags(0xbeef)
		fifo.AcceptFrame(f)
		f.Release()
		if src.AllocCount() != 0 {
			t.Fatalf("the Fifo kept the original frame: %d buffers out", src.AllocCount())
		}
	}
	sink.waitFull(t)
	fifo.Close()
	if sink.sizes[0] != 120 || sink.sizes[1] != 60 {
		t.Fatalf("copied sizes %v, want [120 60]", sink.sizes)
	}
	if want := binary.LittleEndian.Uint64(data); sink.seqs[0] != want {
		t.Fatalf("copied data %#x, want %#x", sink.seqs[0], want)
	}
	if sink.meta[0] != 3<<24|7<<16|0xbeef || sink.meta[1] != 4<<24|7<<16|0xbeef {
		t.Fatalf("metadata %#x %#x", sink.meta[0], sink.meta[1])
	}
	if copies.AllocCount() != 0 {
		t.Fatalf("%d copy buffers out", copies.AllocCount())
	}
}

// TestFifoCopyWholeFrame checks every byte of a copy spanning several
// buffers on both sides, with the copy requested through the Fifo's
// master from the primary slave's allocator.
func TestFifoCopyWholeFrame(t *testing.T) {
	testutils.Leak(t)
	src, _ := NewFixedPool(70, 16, 0)
	dstPool, _ := NewFixedPool(33, 64, 8)
	fifo := mustFifo(t, FifoOptions{Copy: true, Block: true})
	got := make(chan []byte, 1)
	Connect(fifo, &fifoAllocSink{Pool: dstPool, got: got})
	data := make([]byte, 500)
	for i := range data {
		data[i] = byte(i * 7)
	}
	f, _ := src.AcceptReq(len(data), true)
	f.WriteAt(data, 0)
	fifo.AcceptFrame(f)
	f.Release()
	select {
	case b := <-got:
		if string(b) != string(data) {
			t.Fatal("copy differs from the original")
		}
	case <-time.After(fifoTimeout):
		t.Fatal("copy not delivered")
	}
	fifo.Close()
	if dstPool.AllocCount() != 0 || src.AllocCount() != 0 {
		t.Fatalf("buffers out: %d %d", dstPool.AllocCount(), src.AllocCount())
	}
}

// fifoAllocSink is a slave with its own pool that reports each payload and
// how many buffers held it.
type fifoAllocSink struct {
	*Pool
	got chan []byte
}

func (s *fifoAllocSink) AcceptFrame(f Frame) {
	if f.BufferCount() < 2 || f.st.pool != s.Pool {
		s.got <- nil
		return
	}
	b := make([]byte, f.Payload())
	f.ReadAt(b, 0)
	s.got <- b
}

func TestFifoCopyFailureCounted(t *testing.T) {
	testutils.Leak(t)
	copies, _ := NewFixedPool(64, 4, 0)
	copies.SetAllocLimit(1)
	fifo := mustFifo(t, FifoOptions{Copy: true, Pool: copies})
	sink := newFifoSink(-1)
	sink.gate, sink.inside = make(chan struct{}), make(chan struct{}, 100)
	Connect(fifo, sink)
	src := NewPool()
	for range 3 {
		f, _ := src.AcceptReq(10, true)
		fifo.AcceptFrame(f)
		f.Release()
	}
	stale, _ := src.AcceptReq(10, true)
	stale.Release()
	fifo.AcceptFrame(stale)
	if fifo.Drops() != 3 {
		t.Fatalf("drops %d, want 3 (pool limit twice, released frame once)", fifo.Drops())
	}
	sink.waitInside(t)
	close(sink.gate)
	fifo.Close()
	if copies.AllocCount() != 0 {
		t.Fatalf("%d copy buffers out", copies.AllocCount())
	}
}

func TestFifoOptions(t *testing.T) {
	testutils.Leak(t)
	for _, bad := range []FifoOptions{
		{MaxDepth: -1},
		{Copy: true, TrimSize: -5},
		{TrimSize: 10},
		{Pool: NewPool()},
		{MaxDepth: 1 << 31},
	} {
		if f, err := NewFifo(bad); err == nil {
			f.Close()
			t.Errorf("NewFifo(%+v) accepted", bad)
		}
	}
	if _, err := NewFifo(FifoOptions{MaxDepth: 1 << 31}); !errors.Is(err, ring.ErrInvalidCapacity) {
		t.Errorf("huge depth: %v", err)
	}
	for depth, want := range map[int]int{0: 1024, 1: 2, 3: 4, 1000: 1024, 1024: 1024} {
		f := mustFifo(t, FifoOptions{MaxDepth: depth})
		if f.q.Cap() != want {
			t.Errorf("MaxDepth %d: capacity %d, want %d", depth, f.q.Cap(), want)
		}
		f.Close()
	}
}

func TestFifoSteadyStateAllocs(t *testing.T) {
	testutils.Leak(t)
	pool, _ := NewFixedPool(256, 2048, 0)
	var m Master
	m.SetPool(pool)
	fifo := mustFifo(t, FifoOptions{Block: true})
	var sink BaseSlave
	Chain(&m, fifo, &sink)
	cycle := func() {
		f, _ := m.ReqFrame(200, true)
		m.SendFrame(f)
		f.Release()
	}
	for range 5000 { // warm the pool and the frame-state caches
		cycle()
	}
	allocs := testing.AllocsPerRun(5000, cycle)
	fifo.Close()
	// sync.Pool may refill a per-P cache now and then when frame states
	// are taken on one P and returned on another.
	if allocs > 0.01 {
		t.Fatalf("%.3f allocations per frame", allocs)
	}
}

// BenchmarkFifoCycle is the decoupled stream path: a master requests a
// frame from a fixed pool and sends it into a Fifo, whose goroutine hands
// it to a BaseSlave that releases it. Producer and delivery goroutine run
// on different Ps. "block" measures the pair's throughput, "drop" the
// producer side of a Fifo that drops when full, "copy" adds a deep copy
// into a second fixed pool.
func BenchmarkFifoCycle(b *testing.B) {
	const size = 1472
	copies, _ := NewFixedPool(size, 4096, 0)
	for _, c := range []struct {
		name string
		opts FifoOptions
	}{
		{"block", FifoOptions{Block: true}},
		{"drop", FifoOptions{}},
		{"copy", FifoOptions{Block: true, Copy: true, Pool: copies}},
	} {
		b.Run(c.name, func(b *testing.B) {
			pool, _ := NewFixedPool(size, 4096, 0)
			var m Master
			m.SetPool(pool)
			fifo := mustFifo(b, c.opts)
			defer fifo.Close()
			var sink BaseSlave
			Chain(&m, fifo, &sink)
			b.ReportAllocs()
			b.SetBytes(size)
			b.ResetTimer()
			for range b.N {
				f, err := m.ReqFrame(size, true)
				if err != nil {
					b.Fatal(err)
				}
				m.SendFrame(f)
				f.Release()
			}
			// Wait for the queue to drain, inside the timing.
			deadline := time.Now().Add(fifoTimeout)
			for sink.FrameCount()+fifo.Drops() < uint64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("delivered %d + dropped %d of %d", sink.FrameCount(), fifo.Drops(), b.N)
				}
				runtime.Gosched()
			}
			b.StopTimer()
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(sink.FrameCount())/sec, "delivered/s")
			b.ReportMetric(float64(fifo.Drops())/float64(b.N), "drops/op")
		})
	}
}
