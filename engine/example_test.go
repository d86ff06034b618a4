package engine_test

import (
	"fmt"
	"sync"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// exPrinter is a Slave that prints what it receives.
type exPrinter struct{ name string }

func (p exPrinter) AcceptFrame(f engine.Frame) {
	b := make([]byte, f.Payload())
	f.ReadAt(b, 0)
	fmt.Printf("%s: %q on channel %d\n", p.name, b, f.Channel())
}

// A Master sends each frame to all its slaves, synchronously: secondary
// slaves in the order they were attached, then the primary (the first).
func ExampleConnect() {
	var m engine.Master
	engine.Connect(&m, exPrinter{"primary"})
	engine.Connect(&m, exPrinter{"monitor"})

	f, err := m.ReqFrame(64, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Release() // the requester owns one reference
	f.Write([]byte("hello"))
	f.SetChannel(3)
	m.SendFrame(f)
	// Output:
	// monitor: "hello" on channel 3
	// primary: "hello" on channel 3
}

// exSource embeds a Master to become a frame producer, as Rogue users
// subclass stream.Master.
type exSource struct {
	engine.Master
	n int
}

func (s *exSource) emit(text string) error {
	f, err := s.ReqFrame(len(text), true)
	if err != nil {
		return err
	}
	defer f.Release()
	f.Write([]byte(text))
	f.SetChannel(uint8(s.n))
	s.n++
	return s.SendFrame(f)
}

func ExampleMaster() {
	src := &exSource{}
	count := &engine.BaseSlave{}
	engine.Connect(src, exPrinter{"out"})
	engine.Connect(src, count)
	src.emit("first")
	src.emit("second")
	fmt.Println(count.FrameCount(), "frames,", count.ByteCount(), "bytes")
	// Output:
	// out: "first" on channel 0
	// out: "second" on channel 1
	// 2 frames, 11 bytes
}

// A fixed-size pool builds large frames from several buffers and takes them
// back when the last reference is released.
func ExampleNewFixedPool() {
	pool, err := engine.NewFixedPool(1000, 64, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	f, _ := pool.AcceptReq(2500, true)
	fmt.Println("buffers:", f.BufferCount(), "size:", f.Size(), "out:", pool.AllocCount())

	f.Retain() // a second holder, such as a queue
	f.Release()
	fmt.Println("after one release, out:", pool.AllocCount())
	f.Release()
	fmt.Println("after the last, out:", pool.AllocCount(), "valid:", f.Valid())
	// Output:
	// buffers: 3 size: 3000 out: 3
	// after one release, out: 3
	// after the last, out: 0 valid: false
}

// exCollector signals when it has seen the frames it waits for.
type exCollector struct {
	sync.WaitGroup
	mu   sync.Mutex
	seen []string
}

func (c *exCollector) AcceptFrame(f engine.Frame) {
	b := make([]byte, f.Payload())
	f.ReadAt(b, 0)
	c.mu.Lock()
	c.seen = append(c.seen, string(b))
	c.mu.Unlock()
	c.Done()
}

// A Fifo returns to the producer at once and delivers on its own
// goroutine. Chain is Rogue's `src >> fifo >> filter >> sink`.
func ExampleFifo() {
	fifo, err := engine.NewFifo(engine.FifoOptions{MaxDepth: 128, Block: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fifo.Close()
	sink := &exCollector{}
	sink.Add(1) // only channel 1 passes the filter
	src := &exSource{}
	engine.Chain(src, fifo, engine.NewFilter(false, 1), sink)

	for _, s := range []string{"a", "b", "c", "d"} {
		src.emit(s) // channels 0, 1, 2, 3
	}
	sink.Wait()
	fmt.Println(sink.seen, "dropped by the Fifo:", fifo.Drops())
	// Output:
	// [b] dropped by the Fifo: 0
}

// Keep one frame in three, as a monitor tap on a busy stream.
func ExampleNewRateDrop() {
	rd, err := engine.NewRateDrop(false, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	src := &exSource{}
	engine.Chain(src, rd, exPrinter{"kept"})
	for range 7 {
		src.emit("x")
	}
	fmt.Println("dropped:", rd.Dropped())
	// Output:
	// kept: "x" on channel 0
	// kept: "x" on channel 3
	// kept: "x" on channel 6
	// dropped: 4
}

// exThen forwards each frame to a Slave and then marks it done.
type exThen struct {
	engine.Slave
	wg *sync.WaitGroup
}

func (t exThen) AcceptFrame(f engine.Frame) {
	t.Slave.AcceptFrame(f)
	t.wg.Done()
}

// Rogue's PRBS generator and checker test a path end to end; here the path
// is a Fifo.
func Example_prbs() {
	gen, _ := prbs.NewGenerator(32)
	check, _ := prbs.NewChecker(32)
	fifo, _ := engine.NewFifo(engine.FifoOptions{Block: true})
	defer fifo.Close()
	pool, _ := engine.NewFixedPool(1472, 2048, 0)
	gen.SetPool(pool) // the Fifo allocates nothing, so the generator's pool serves

	var checked sync.WaitGroup
	checked.Add(1000)
	engine.Chain(gen, fifo, exThen{check, &checked})
	for range 1000 {
		if err := gen.GenFrame(1472); err != nil {
			fmt.Println(err)
			return
		}
	}
	checked.Wait()
	st := check.Stats()
	fmt.Println("sent", gen.TxFrames(), "checked", st.Frames, "errors", st.Errors())
	// Output:
	// sent 1000 checked 1000 errors 0
}
