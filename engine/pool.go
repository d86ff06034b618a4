package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"udpstream.dev/engine/internal/poolx"
	"udpstream.dev/ring"
)

// slabChunkBytes is how much contiguous memory a pool carves at a time when
// it grows. Large enough that carving is rare, small enough that a pool
// configured for many buffers does not commit them all up front.
const slabChunkBytes = 4 << 20

// MaxFrameSize is the largest frame a pool allocates, and the largest
// buffer (headroom included) it is configured for: requests beyond it fail
// with ErrFrameSize. 1 GiB is far above a datagram (64 KiB) or a GRO
// receive, and above the frames of a file reader or an event builder, yet
// small enough that a frame's size, offsets and the sum of two of them
// stay below 2^31 and cannot overflow an int even on a 32-bit platform.
const MaxFrameSize = 1 << 30

// MaxFrameBuffers is the most buffers one frame of a fixed-size pool may
// span; a request that needs more fails with ErrFrameSize. It bounds the
// bookkeeping of a frame cut into tiny buffers (about 200 bytes a buffer,
// so some 200 MiB at the limit) where MaxFrameSize bounds its payload.
const MaxFrameBuffers = 1 << 20

// MaxPoolSize is the most buffers a pool keeps in its slab. The slab's
// free list takes a pointer-sized slot per buffer at once, so a larger
// PoolSize is refused with ErrFrameSize rather than allocated.
const MaxPoolSize = 1 << 22

// bufferAlign keeps buffers on cache-line boundaries so that two buffers
// written by different goroutines never share a line.
const bufferAlign = 64

// Pool is an allocator of frames made of fixed-size buffers carved from
// large contiguous slabs (Rogue's stream::Pool).
//
// With FixedSize 0 (the default, as in Rogue) every frame gets one buffer of
// exactly the requested size from the Go heap. With FixedSize N a frame gets
// ceil(size/N) buffers of N usable bytes; up to PoolSize buffers live in the
// pool's slab and are reused through a small cache per P in front of a
// lock-free free list, and buffers beyond that come from the heap and are
// dropped when freed.
//
// The zero Pool is ready to use with the default settings. A Pool must not
// be copied after first use.
type Pool struct {
	mu     sync.Mutex // serialises configuration changes and slab growth
	cfg    atomic.Pointer[poolConfig]
	region bool // the slab is a caller's region: its geometry is fixed

	counts allocCounter
	limit  atomic.Int64 // maximum buffers out at once; 0 = unlimited

	statesOnce sync.Once
	states     *localCache[*frameState] // recycled frame bodies

	retired atomic.Pointer[retirement] // set by retire: allocations fail
}

// frameStateCache is how many released frame bodies a pool keeps in its
// shared ring, besides a few per P. A frame is often allocated on one
// goroutine and released on another (a receive loop and its consumer); the
// shared lock-free ring recycles the bodies across them, where sync.Pool
// would keep allocating on the producer's side.
const frameStateCache = 4096

// poolConfig is immutable once published; changing a setting publishes a
// new one, so the allocation path reads its settings with one atomic load.
type poolConfig struct {
	fixedSize int // usable bytes per buffer, 0 = exact-size heap buffers
	poolSize  int // buffers kept in the slab
	headroom  int // bytes reserved in front of each buffer's usable space
	slab      *slab
}

var defaultPoolConfig = &poolConfig{}

// slab is the contiguous memory behind one pool configuration.
type slab struct {
	bufMem   int // bytes per buffer, headroom included
	capacity int // buffers this slab may hold
	free     *localCache[*poolx.Buffer]
	pool     *Pool // the pool that counts this slab's buffers

	mu     sync.Mutex
	carved int
	chunks [][]byte       // keeps the carved memory reachable
	region []byte         // the caller's region, for region pools
	bufs   []poolx.Buffer // region pools: every buffer, indexed by offset/bufMem
}

// NewPool returns a pool with Rogue's defaults: FixedSize 0, PoolSize 0.
func NewPool() *Pool { return &Pool{} }

// NewFixedPool returns a pool of fixedSize-byte buffers that keeps up to
// poolSize of them in its slab, each preceded by headroom bytes that
// Frame.PushHeader can claim for protocol headers.
// The buffers (headroom plus fixedSize) may not exceed MaxFrameSize nor the
// pool size MaxPoolSize.
func NewFixedPool(fixedSize, poolSize, headroom int) (*Pool, error) {
	c := &poolConfig{fixedSize: fixedSize, poolSize: poolSize, headroom: headroom}
	if fixedSize <= 0 {
		return nil, fmt.Errorf("%w: fixed size %d, pool size %d, headroom %d", ErrFrameSize, fixedSize, poolSize, headroom)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	p := &Pool{}
	p.publish(c)
	return p, nil
}

// check refuses settings outside the documented bounds. Each is compared
// before any is added, so no sum of caller values can overflow.
func (c *poolConfig) check() error {
	switch {
	case c.fixedSize < 0 || c.poolSize < 0 || c.headroom < 0:
		return fmt.Errorf("%w: fixed size %d, pool size %d, headroom %d: negative", ErrFrameSize, c.fixedSize, c.poolSize, c.headroom)
	case c.fixedSize > MaxFrameSize || c.headroom > MaxFrameSize-c.fixedSize:
		return fmt.Errorf("%w: buffers of %d bytes plus %d of headroom exceed MaxFrameSize (%d)", ErrFrameSize, c.fixedSize, c.headroom, MaxFrameSize)
	case c.poolSize > MaxPoolSize:
		return fmt.Errorf("%w: pool size %d exceeds MaxPoolSize (%d)", ErrFrameSize, c.poolSize, MaxPoolSize)
	}
	return nil
}

// newRegionPool returns a pool whose every buffer is carved from region, a
// contiguous block the caller owns (for example memory registered with the
// kernel as an AF_XDP UMEM). Each buffer takes bufSize bytes of the region,
// of which the first headroom bytes are headroom. The pool never allocates
// buffers elsewhere, so Buffer.Offset locates every buffer in the region.
func newRegionPool(region []byte, bufSize, headroom int) (*Pool, error) {
	if bufSize <= 0 || headroom < 0 || headroom >= bufSize || len(region) < bufSize {
		return nil, fmt.Errorf("%w: region of %d bytes, buffer size %d, headroom %d", ErrFrameSize, len(region), bufSize, headroom)
	}
	count := len(region) / bufSize
	c := &poolConfig{fixedSize: bufSize - headroom, poolSize: count, headroom: headroom}
	if err := c.check(); err != nil {
		return nil, err
	}
	s, err := newSlab(bufSize, count)
	if err != nil {
		return nil, err
	}
	p := &Pool{region: true}
	s.region, s.pool = region, p
	s.bufs = make([]poolx.Buffer, count)
	for i := range s.bufs {
		b := &s.bufs[i]
		b.Init(region[i*bufSize:(i+1)*bufSize:(i+1)*bufSize], s, i, region)
		s.free.shared.PushUnlessFull(b)
	}
	s.carved = count
	p.limit.Store(int64(count))
	c.slab = s
	p.publish(c)
	return p, nil
}

func newSlab(bufMem, capacity int) (*slab, error) {
	free, err := ring.NewMPMC[*poolx.Buffer](ceilPow2(max(capacity, 2)))
	if err != nil {
		return nil, err
	}
	return &slab{bufMem: bufMem, capacity: capacity, free: newLocalCache(free)}, nil
}

// ceilPow2 is the least power of two >= n, for n up to 2^62 (callers
// bound n far below; past it the loop would never end).
func ceilPow2(n int) int {
	p := 1
	for p < n && p < 1<<62 {
		p <<= 1
	}
	return p
}

func (p *Pool) config() *poolConfig {
	if c := p.cfg.Load(); c != nil {
		return c
	}
	return defaultPoolConfig
}

// publish installs c, creating its slab when it caches buffers. Buffers of
// an older configuration still out are dropped, not cached, when freed.
func (p *Pool) publish(c *poolConfig) {
	if c.slab == nil && c.fixedSize > 0 && c.poolSize > 0 {
		bufMem := (c.headroom + c.fixedSize + bufferAlign - 1) &^ (bufferAlign - 1)
		// newSlab fails only for capacities a ring rejects, which
		// ceilPow2(max(n,2)) never produces.
		c.slab, _ = newSlab(bufMem, c.poolSize)
		c.slab.pool = p
	}
	p.cfg.Store(c)
}

// FixedSize is the usable size of each buffer; 0 means exact-size buffers.
func (p *Pool) FixedSize() int { return p.config().fixedSize }

// SetFixedSize switches the pool to buffers of size usable bytes (0 for
// exact-size buffers). Region pools have a fixed geometry and refuse.
// With the headroom it may not exceed MaxFrameSize.
func (p *Pool) SetFixedSize(size int) error {
	return p.reconfigure(func(c *poolConfig) { c.fixedSize = size })
}

// PoolSize is how many buffers the pool keeps for reuse.
func (p *Pool) PoolSize() int { return p.config().poolSize }

// SetPoolSize sets how many buffers the pool keeps for reuse, at most
// MaxPoolSize.
func (p *Pool) SetPoolSize(size int) error {
	return p.reconfigure(func(c *poolConfig) { c.poolSize = size })
}

// Headroom is the number of bytes reserved in front of each buffer.
func (p *Pool) Headroom() int { return p.config().headroom }

// SetHeadroom sets the bytes reserved in front of each new buffer; with
// the fixed size it may not exceed MaxFrameSize.
func (p *Pool) SetHeadroom(n int) error {
	return p.reconfigure(func(c *poolConfig) { c.headroom = n })
}

func (p *Pool) reconfigure(change func(*poolConfig)) error {
	if p.region {
		return fmt.Errorf("engine: a region pool's geometry is fixed by its region")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := *p.config()
	before := c
	change(&c)
	if c == before {
		return nil
	}
	if err := c.check(); err != nil {
		return err
	}
	c.slab = nil
	p.publish(&c)
	return nil
}

// AllocLimit is the maximum number of buffers out at once; 0 = unlimited.
func (p *Pool) AllocLimit() int { return int(p.limit.Load()) }

// SetAllocLimit caps the buffers out at once; past it, allocations fail
// with ErrPoolExhausted. 0 removes the cap. Region pools are capped at their
// buffer count.
func (p *Pool) SetAllocLimit(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: allocation limit %d is negative", ErrFrameSize, n)
	}
	if p.region {
		return fmt.Errorf("engine: a region pool's limit is its buffer count")
	}
	p.limit.Store(int64(n))
	return nil
}

// AllocCount is the number of buffers currently out of the pool. It is
// exact while no goroutine takes or returns a buffer of the pool; during
// such calls it may count a buffer on its way in or out.
func (p *Pool) AllocCount() int { return int(p.counts.count()) }

// AllocBytes is the memory, in bytes, of the buffers currently out, exact
// under the same condition as AllocCount.
func (p *Pool) AllocBytes() int { return int(p.counts.bytes()) }

// AcceptReq allocates a frame with room for at least size bytes. zeroCopy is
// accepted for Rogue compatibility; every frame of this pool is zero-copy.
// It implements Allocator.
//
// A request fails with ErrFrameSize, before anything is counted, when size
// is negative or exceeds MaxFrameSize, when an exact-size buffer (size plus
// the headroom) would, or when a fixed-size pool would need more than
// MaxFrameBuffers buffers.
func (p *Pool) AcceptReq(size int, zeroCopy bool) (Frame, error) {
	c := p.config()
	if err := c.checkRequest(size); err != nil {
		return Frame{}, err
	}
	st := p.getState()
	if c.fixedSize == 0 {
		b, err := p.heapBuffer(c.headroom + size)
		if err != nil {
			p.putState(st)
			return Frame{}, err
		}
		st.segs = append(st.segs, segment{buf: b, lo: c.headroom, hi: c.headroom + size})
	} else {
		for range c.bufferCount(size) {
			b, err := p.buffer(c)
			if err != nil {
				for i := range st.segs {
					st.segs[i].buf.Release()
				}
				st.segs = st.segs[:0]
				p.putState(st)
				return Frame{}, err
			}
			st.segs = append(st.segs, segment{buf: b, lo: c.headroom, hi: c.headroom + c.fixedSize})
		}
	}
	return p.frame(st), nil
}

// checkRequest refuses a frame request of size bytes that exceeds the
// pool's bounds. The configuration was checked, so headroom and fixedSize
// are at most MaxFrameSize and the sums below cannot overflow.
func (c *poolConfig) checkRequest(size int) error {
	switch {
	case size < 0 || size > MaxFrameSize:
		return fmt.Errorf("%w: frame request of %d bytes (MaxFrameSize is %d)", ErrFrameSize, size, MaxFrameSize)
	case c.fixedSize == 0 && size > MaxFrameSize-c.headroom:
		return fmt.Errorf("%w: frame request of %d bytes plus %d of headroom exceeds MaxFrameSize (%d)", ErrFrameSize, size, c.headroom, MaxFrameSize)
	case c.fixedSize > 0 && c.bufferCount(size) > MaxFrameBuffers:
		return fmt.Errorf("%w: frame request of %d bytes needs %d buffers of %d (MaxFrameBuffers is %d)",
			ErrFrameSize, size, c.bufferCount(size), c.fixedSize, MaxFrameBuffers)
	}
	return nil
}

// bufferCount is how many fixedSize buffers hold size bytes: at least one,
// so that an empty frame still has memory. size is at most MaxFrameSize.
func (c *poolConfig) bufferCount(size int) int {
	n := size / c.fixedSize
	if size%c.fixedSize != 0 {
		n++
	}
	return max(1, n)
}

// allocBuffer takes one buffer out of a fixed-size pool, with one reference
// held by the caller. Transports receive into Buffer.Mem and cut frames out
// of it with frameOn.
func (p *Pool) allocBuffer() (*poolx.Buffer, error) {
	c := p.config()
	if c.fixedSize == 0 {
		return nil, fmt.Errorf("engine: allocating a buffer needs a fixed-size pool")
	}
	return p.buffer(c)
}

// frameOn makes a frame whose payload is b.Mem[off:off+n], sharing the
// buffer without copying; the frame holds its own reference to b. The frame
// has no headroom, so frames cut from one buffer never overlap.
func (p *Pool) frameOn(b *poolx.Buffer, off, n int) (Frame, error) {
	if b == nil || !b.Live() {
		return Frame{}, fmt.Errorf("engine: a frame on a free buffer")
	}
	if off < 0 || n < 0 || off > len(b.Mem) || n > len(b.Mem)-off {
		return Frame{}, fmt.Errorf("%w: window %d+%d outside a %d-byte buffer", ErrFrameSize, off, n, len(b.Mem))
	}
	b.Retain()
	st := p.getState()
	st.segs = append(st.segs, segment{buf: b, floor: off, lo: off, hi: off + n, n: n})
	return p.frame(st), nil
}

// bufferAt returns the buffer of a region pool that starts at offset bytes
// into the region (an AF_XDP descriptor address, for example).
func (p *Pool) bufferAt(offset int) (*poolx.Buffer, error) {
	s := p.config().slab
	if !p.region || s == nil {
		return nil, fmt.Errorf("engine: a buffer at an offset needs a region pool")
	}
	if offset < 0 || offset/s.bufMem >= len(s.bufs) {
		return nil, fmt.Errorf("%w: offset %d outside the region", ErrFrameSize, offset)
	}
	return &s.bufs[offset/s.bufMem], nil
}

func (p *Pool) frame(st *frameState) Frame {
	st.pool = p
	gen := (st.life.Load()>>32 + 1) & genMask
	st.life.Store(gen<<32 | 1)
	return Frame{st: st, gen: gen}
}

func (p *Pool) stateRing() *localCache[*frameState] {
	p.statesOnce.Do(func() {
		// A power-of-two capacity cannot fail.
		shared, _ := ring.NewMPMC[*frameState](frameStateCache)
		p.states = newLocalCache(shared)
	})
	return p.states
}

func (p *Pool) getState() *frameState {
	if st, ok := p.stateRing().get(); ok {
		return st
	}
	return &frameState{segs: make([]segment, 0, 1)}
}

// putState keeps st for reuse; when the cache is full it is left to the
// garbage collector.
func (p *Pool) putState(st *frameState) { p.stateRing().put(st) }

// reserve counts one buffer of memBytes out, honouring the limit, and
// returns the count shard that the buffer's release must count it back in
// on. An allocation counts itself before it reads the total, so of two
// racing for the last buffer below the limit at least one sees the other:
// the limit is never exceeded (both may be refused).
func (p *Pool) reserve(memBytes int) (int, error) {
	shard := p.counts.add()
	if limit := p.limit.Load(); limit > 0 && p.counts.count() > limit {
		p.uncount(shard, 0)
		return 0, fmt.Errorf("%w: %d buffers out", ErrPoolExhausted, limit)
	}
	p.counts.shards[shard].bytes.Add(int64(memBytes))
	return shard, nil
}

// uncount counts one buffer of memBytes back in on shard. If the pool is
// retired and no buffer is out any more, its memory may go.
func (p *Pool) uncount(shard, memBytes int) {
	s := &p.counts.shards[shard]
	s.bytes.Add(-int64(memBytes))
	s.count.Add(-1)
	if r := p.retired.Load(); r != nil && p.counts.count() == 0 {
		r.fire()
	}
}

func (p *Pool) heapBuffer(memBytes int) (*poolx.Buffer, error) {
	shard, err := p.reserve(memBytes)
	if err != nil {
		return nil, err
	}
	b := &poolx.Buffer{}
	b.Init(make([]byte, memBytes), (*heapOwner)(p), -1, nil)
	b.Counter = shard
	b.Reset()
	return b, nil
}

// buffer takes a buffer for configuration c: from the caller's cache or the
// slab's free list, else by carving more slab, else from another P's
// cache, else from the heap.
func (p *Pool) buffer(c *poolConfig) (*poolx.Buffer, error) {
	s := c.slab
	if s == nil {
		return p.heapBuffer(c.headroom + c.fixedSize)
	}
	shard, err := p.reserve(s.bufMem)
	if err != nil {
		return nil, err
	}
	if p.retired.Load() != nil {
		p.uncount(shard, s.bufMem)
		return nil, fmt.Errorf("engine: pool of a closed endpoint: %w", ErrClosed)
	}
	b := s.takeFree()
	if b == nil {
		b = s.carve()
	}
	if b == nil {
		// Nothing left to carve: the free buffers, if any, sit in the
		// caches of other Ps.
		b, _ = s.free.steal()
	}
	if b == nil {
		// Every slab buffer is out: lend one from the heap, which the
		// garbage collector takes back.
		b = &poolx.Buffer{}
		b.Init(make([]byte, s.bufMem), (*heapOwner)(p), -1, nil)
	}
	b.Counter = shard
	b.Reset()
	return b, nil
}

// carve grows the slab by one chunk and returns one of its buffers, or nil
// when the slab is at capacity.
func (s *slab) carve() *poolx.Buffer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.takeFree(); b != nil {
		return b // another goroutine carved while we waited
	}
	n := min(s.capacity-s.carved, max(1, slabChunkBytes/s.bufMem))
	if n <= 0 {
		return nil
	}
	mem := make([]byte, n*s.bufMem)
	bufs := make([]poolx.Buffer, n)
	s.chunks = append(s.chunks, mem)
	s.carved += n
	for i := range bufs {
		b := &bufs[i]
		b.Init(mem[i*s.bufMem:(i+1)*s.bufMem:(i+1)*s.bufMem], s, -1, mem)
		if i > 0 {
			s.free.shared.PushUnlessFull(b)
		}
	}
	return &bufs[0]
}

// takeFree takes a buffer from the caller's per-P cache or the slab's
// shared free list, or returns nil when both are empty. A pop that merely
// met a buffer being published must not send the caller to carve or to the
// heap (which a region pool must never do), so the cache waits for it.
func (s *slab) takeFree() *poolx.Buffer {
	b, _ := s.free.get()
	return b
}

// putFree returns b to the caller's per-P cache, which flushes to the
// shared free list. That list has a slot for every buffer the slab
// carves, so a put is never refused and no buffer leaves the slab for
// good (for an AF_XDP pool, a UMEM chunk): the cache pushes what a batch
// push left behind one by one, waiting out slots still being released.
func (s *slab) putFree(b *poolx.Buffer) {
	s.free.put(b)
}

// Free takes back a buffer of this slab whose last reference is gone.
func (s *slab) Free(b *poolx.Buffer) { s.pool.free(b, s) }

// heapOwner takes back the pool's heap buffers, which are not cached.
type heapOwner Pool

func (h *heapOwner) Free(b *poolx.Buffer) { (*Pool)(h).free(b, nil) }

// free counts b, whose last reference is gone, back in; it returns to its
// slab home only if that is still the pool's current slab.
func (p *Pool) free(b *poolx.Buffer, home *slab) {
	shard := b.Counter
	if home != nil && home == p.config().slab {
		home.putFree(b)
	}
	p.uncount(shard, len(b.Mem))
}

// frameOnWindows makes one frame whose payload is the windows in order,
// without copying: a datagram that arrived in several buffers (an AF_XDP
// multi-buffer packet) becomes one frame of several segments. Like frameOn,
// the frame holds its own reference to every buffer, each of which must be
// held by the caller. It does not allocate once the frame bodies of the
// pool have grown to the number of windows used.
func (p *Pool) frameOnWindows(ws []poolx.Window) (Frame, error) {
	if len(ws) == 0 {
		return Frame{}, fmt.Errorf("%w: a frame needs at least one window", ErrFrameSize)
	}
	for i, w := range ws {
		if w.Buf == nil || !w.Buf.Live() {
			return Frame{}, fmt.Errorf("engine: a frame on windows: window %d is on a free buffer", i)
		}
		floor := w.Off
		if i == 0 {
			floor -= w.Headroom
		}
		if w.Off < 0 || w.Len < 0 || w.Headroom < 0 || floor < 0 || w.Off > len(w.Buf.Mem) || w.Len > len(w.Buf.Mem)-w.Off {
			return Frame{}, fmt.Errorf("%w: window %d (%d+%d, headroom %d) outside a %d-byte buffer",
				ErrFrameSize, i, w.Off, w.Len, w.Headroom, len(w.Buf.Mem))
		}
	}
	st := p.getState()
	for i, w := range ws {
		w.Buf.Retain()
		floor := w.Off
		if i == 0 {
			floor -= w.Headroom
		}
		st.segs = append(st.segs, segment{buf: w.Buf, floor: floor, lo: w.Off, hi: w.Off + w.Len, n: w.Len})
	}
	return p.frame(st), nil
}

// retirement is the end of a pool whose memory its owner wants back (an
// AF_XDP UMEM): once retired, allocations fail, and fn runs once, on the
// goroutine that returns the last buffer still out (or in retire itself if
// none is).
type retirement struct {
	fn    func()
	fired atomic.Bool
}

func (r *retirement) fire() {
	if r.fired.CompareAndSwap(false, true) {
		r.fn()
	}
}

// retire makes every later allocation fail with ErrClosed and calls fn once
// no buffer is out any more. An allocation counts itself out before it
// checks for retirement and retire stores the mark before it counts, so
// either the allocation sees the mark and fails without touching a buffer,
// or retire (or a later release) sees it counted and fn waits for its
// release: fn never runs while a buffer may still be used.
func (p *Pool) retire(fn func()) {
	r := &retirement{fn: fn}
	if !p.retired.CompareAndSwap(nil, r) {
		return
	}
	if p.counts.count() == 0 {
		r.fire()
	}
}
