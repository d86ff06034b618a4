package engine

import (
	"errors"
	"sync"
	"testing"

	"udpstream.dev/engine/internal/poolx"
)

func TestPoolExactSizeDefault(t *testing.T) {
	p := NewPool()
	if p.FixedSize() != 0 || p.PoolSize() != 0 {
		t.Fatalf("defaults = %d/%d, want Rogue's 0/0", p.FixedSize(), p.PoolSize())
	}
	f := mustFrame(t, p, 1234)
	if f.Size() != 1234 || f.BufferCount() != 1 {
		t.Fatalf("exact-size frame: size %d in %d buffers", f.Size(), f.BufferCount())
	}
	if p.AllocCount() != 1 || p.AllocBytes() != 1234 {
		t.Fatalf("alloc counters %d/%d", p.AllocCount(), p.AllocBytes())
	}
	f.Release()
	if p.AllocCount() != 0 || p.AllocBytes() != 0 {
		t.Fatalf("alloc counters after release %d/%d", p.AllocCount(), p.AllocBytes())
	}
}

func TestPoolFixedSizeSplitsLargeFrames(t *testing.T) {
	var p Pool // the zero Pool is usable
	if err := p.SetFixedSize(1000); err != nil {
		t.Fatal(err)
	}
	if err := p.SetPoolSize(10); err != nil {
		t.Fatal(err)
	}
	f := mustFrame(t, &p, 2500)
	if f.BufferCount() != 3 || f.Size() != 3000 {
		t.Fatalf("2500 bytes at fixed 1000: %d buffers, size %d", f.BufferCount(), f.Size())
	}
	if p.AllocCount() != 3 {
		t.Fatalf("AllocCount = %d", p.AllocCount())
	}
	f.Release()
	if p.AllocCount() != 0 {
		t.Fatalf("AllocCount after release = %d", p.AllocCount())
	}
	z := mustFrame(t, &p, 0)
	if z.BufferCount() != 1 {
		t.Fatalf("empty request got %d buffers", z.BufferCount())
	}
	z.Release()
}

func TestPoolReusesSlabBuffers(t *testing.T) {
	p, _ := NewFixedPool(256, 4, 0)
	seen := map[*poolx.Buffer]bool{}
	for range 100 {
		b, err := p.allocBuffer()
		if err != nil {
			t.Fatal(err)
		}
		seen[b] = true
		b.Release()
	}
	if len(seen) > 4 {
		t.Fatalf("pool of 4 handed out %d distinct buffers: not reusing", len(seen))
	}
}

func TestPoolLimitIsAnError(t *testing.T) {
	p, _ := NewFixedPool(64, 2, 0)
	if err := p.SetAllocLimit(3); err != nil {
		t.Fatal(err)
	}
	var held []Frame
	for range 3 {
		held = append(held, mustFrame(t, p, 10))
	}
	if _, err := p.AcceptReq(10, true); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("past limit: %v", err)
	}
	// A multi-buffer request that fails part-way gives back what it took.
	held[0].Release()
	if _, err := p.AcceptReq(200, true); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("multi-buffer past limit: %v", err)
	}
	if p.AllocCount() != 2 {
		t.Fatalf("AllocCount after failed request = %d, want 2", p.AllocCount())
	}
	for _, f := range held[1:] {
		f.Release()
	}
}

func TestPoolBadSettings(t *testing.T) {
	p := NewPool()
	for name, err := range map[string]error{
		"SetFixedSize(-1)":  p.SetFixedSize(-1),
		"SetPoolSize(-1)":   p.SetPoolSize(-1),
		"SetHeadroom(-1)":   p.SetHeadroom(-1),
		"SetAllocLimit(-1)": p.SetAllocLimit(-1),
	} {
		if err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := p.AcceptReq(-5, true); !errors.Is(err, ErrFrameSize) {
		t.Errorf("negative request: %v", err)
	}
	if _, err := p.allocBuffer(); err == nil {
		t.Error("AllocBuffer on an exact-size pool accepted")
	}
	if _, err := NewFixedPool(0, 1, 0); err == nil {
		t.Error("NewFixedPool(0, ...) accepted")
	}
}

func TestFrameOnSharesBuffer(t *testing.T) {
	p, _ := NewFixedPool(4096, 2, 0)
	b, err := p.allocBuffer()
	if err != nil {
		t.Fatal(err)
	}
	mem := b.Memory()
	for i := range mem {
		mem[i] = byte(i / 1000)
	}
	var frames []Frame
	for off := 0; off < 4000; off += 1000 {
		n := min(1000, 3500-off)
		if n <= 0 {
			break
		}
		f, err := p.frameOn(b, off, n)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	b.Release() // the frames keep the buffer alive
	if len(frames) != 4 || p.AllocCount() != 1 {
		t.Fatalf("%d frames, AllocCount %d", len(frames), p.AllocCount())
	}
	for i, f := range frames {
		data, err := f.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if data[0] != byte(i) || (i == 3 && len(data) != 500) {
			t.Fatalf("frame %d starts with %d, %d bytes", i, data[0], len(data))
		}
		if f.Headroom() != 0 {
			t.Fatalf("a shared window must not offer headroom into its neighbour")
		}
	}
	for _, f := range frames {
		f.Release()
	}
	if p.AllocCount() != 0 {
		t.Fatalf("buffer not returned: AllocCount %d", p.AllocCount())
	}
	if _, err := p.frameOn(b, 0, 10); err == nil {
		t.Fatal("FrameOn on a free buffer accepted")
	}
}

func TestRegionPool(t *testing.T) {
	region := make([]byte, 8*2048)
	p, err := newRegionPool(region, 2048, 256)
	if err != nil {
		t.Fatal(err)
	}
	if p.FixedSize() != 2048-256 {
		t.Fatalf("FixedSize = %d", p.FixedSize())
	}
	var bufs []*poolx.Buffer
	for range 8 {
		b, err := p.allocBuffer()
		if err != nil {
			t.Fatal(err)
		}
		at, err := p.bufferAt(b.Offset())
		if err != nil || at != b {
			t.Fatalf("BufferAt(%d) = %p %v, want %p", b.Offset(), at, err, b)
		}
		if &region[b.Offset()] != &b.Memory()[0] {
			t.Fatal("buffer memory is not in the region")
		}
		bufs = append(bufs, b)
	}
	if _, err := p.allocBuffer(); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("9th buffer of 8: %v", err)
	}
	if err := p.SetFixedSize(100); err == nil {
		t.Fatal("region pool accepted a new geometry")
	}
	if _, err := p.bufferAt(len(region)); err == nil {
		t.Fatal("BufferAt past the region accepted")
	}
	for _, b := range bufs {
		b.Release()
	}
	if p.AllocCount() != 0 {
		t.Fatalf("AllocCount = %d", p.AllocCount())
	}
}

func TestPoolConcurrentUse(t *testing.T) {
	p, _ := NewFixedPool(128, 64, 16)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20000 {
				f, err := p.AcceptReq(100+i%200, true)
				if err != nil {
					t.Error(err)
					return
				}
				f.SetChannel(uint8(g))
				f.Write([]byte{byte(g)})
				if f.Channel() != uint8(g) {
					t.Error("frame shared between goroutines")
				}
				f.Release()
			}
		}()
	}
	// Reconfiguring under load must be safe: old buffers are dropped.
	p.SetPoolSize(32)
	wg.Wait()
	if p.AllocCount() != 0 || p.AllocBytes() != 0 {
		t.Fatalf("leaked: %d buffers, %d bytes", p.AllocCount(), p.AllocBytes())
	}
}

// TestPoolKeepsEveryBufferUnderConcurrentUse allocates and releases frames
// from two goroutines on a pool whose slab is almost entirely free, the
// steady state of a receive loop and its consumer. Afterwards every buffer
// of the slab must be back on its free list: a release that the free list
// refused would drop a slab buffer for good (for an AF_XDP pool, a UMEM
// chunk) and later allocations would come from the heap.
func TestPoolKeepsEveryBufferUnderConcurrentUse(t *testing.T) {
	const poolSize = 64
	p, err := NewFixedPool(1500, poolSize, 0)
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 50_000
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				f, err := p.AcceptReq(1500, true)
				if err != nil {
					errs <- err
					return
				}
				f.Release()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := p.AllocCount(); n != 0 {
		t.Fatalf("%d buffers still counted out", n)
	}
	var held []*poolx.Buffer
	defer func() {
		for _, b := range held {
			b.Release()
		}
	}()
	for i := range poolSize {
		b, err := p.allocBuffer()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, b)
		if b.Chunk == nil {
			t.Fatalf("buffer %d of %d came from the heap: the slab lost %d buffers", i+1, poolSize, poolSize-i)
		}
	}
}
