// Package poolx is the part of the engine's pool that only the transports
// use: the buffers frames are made of, and the operations that receive into
// a buffer, cut frames out of it, and map an AF_XDP UMEM onto a pool. None
// of it is public API: users see engine.Pool and engine.Frame only.
//
// The split: poolx owns the Buffer type (memory, reference count, owner);
// engine owns Pool and Frame and implements every operation over them.
// engine registers those operations here once, at init, as a [Hooks] value
// typed with its own Frame and Pool; engine/udp takes them back with [Get].
// The types cannot live the other way round: engine cannot import its
// transports, and Frame's fields must stay private to engine.
package poolx

import "sync/atomic"

// Owner takes a buffer back once its last reference is released.
type Owner interface {
	Free(b *Buffer)
}

// Buffer is one block of pool memory. Frames refer to windows of buffers;
// several frames may share one buffer (a GRO receive split into datagrams),
// and the buffer goes back to its owner when the last of them is released.
type Buffer struct {
	// Mem is the buffer's whole memory, headroom included.
	Mem []byte
	// Index is the buffer's position in a region pool, else -1.
	Index int
	// Chunk is the contiguous slab memory Mem was carved from, nil for
	// a heap buffer.
	Chunk []byte
	// Counter is the shard of its pool's allocation count that counted
	// the buffer out, and counts it back in.
	Counter int

	refs  atomic.Int32
	owner Owner
}

// Init makes b a buffer of owner over mem. It holds no reference until
// Reset.
func (b *Buffer) Init(mem []byte, owner Owner, index int, chunk []byte) {
	b.Mem, b.owner, b.Index, b.Chunk = mem, owner, index, chunk
}

// Memory is the buffer's whole memory, headroom included.
func (b *Buffer) Memory() []byte { return b.Mem }

// Offset is the buffer's position in its region pool's region, or -1 for a
// buffer that is not part of a region. Region buffers all have the same
// size, so the position is Index times the buffer's length.
func (b *Buffer) Offset() int {
	if b.Index < 0 {
		return -1
	}
	return b.Index * len(b.Mem)
}

// Owner is who takes the buffer back.
func (b *Buffer) Owner() Owner { return b.owner }

// Retain adds a reference.
func (b *Buffer) Retain() { b.refs.Add(1) }

// RetainN adds n references at once; a negative n takes back references
// added ahead, never the caller's last one.
func (b *Buffer) RetainN(n int) { b.refs.Add(int32(n)) }

// Reset makes a buffer taken from its owner held by the caller alone.
func (b *Buffer) Reset() { b.refs.Store(1) }

// Live reports whether anyone holds a reference to b.
func (b *Buffer) Live() bool { return b.refs.Load() > 0 }

// SoleOwner reports whether the caller's reference is the only one left on
// b: every frame made on it has been released.
func (b *Buffer) SoleOwner() bool { return b.refs.Load() == 1 }

// Release drops one reference; the last one gives b back to its owner.
func (b *Buffer) Release() {
	if b.refs.Add(-1) == 0 {
		b.owner.Free(b)
	}
}

// Carver is a receive loop's set of frame bodies for the frames it cuts out
// of its receive buffers (Hooks.FramesCarved). One goroutine uses it; the
// frames it cuts may be retained and released on any.
type Carver struct {
	// Bodies is engine's; poolx does not look inside.
	Bodies any
}

// Window is a byte range of a pooled buffer, Buf.Mem[Off:Off+Len], with
// Headroom bytes in front of it that Frame.PushHeader may claim.
type Window struct {
	Buf      *Buffer
	Off, Len int
	// Headroom counts only for the first window of a frame. Give it only
	// when no other frame uses those bytes.
	Headroom int
}

// Segment is one window of a buffer that belongs to a frame:
// Buf.Mem[Lo:Hi] is the usable capacity, Buf.Mem[Lo:Lo+N] the payload, and
// Floor..Lo the headroom.
type Segment struct {
	Buf   *Buffer
	Floor int
	Lo    int
	Hi    int
	N     int
}

// Hooks are the transport-only operations on engine's frames (F), pools
// (P) and masters (M). engine fills them in; see the engine functions they
// name for the contracts.
type Hooks[F, P, M any] struct {
	// NewRegionPool makes a pool whose every buffer is carved from region
	// (an AF_XDP UMEM): bufSize bytes each, the first headroom of them
	// headroom. Buffer.Offset locates each buffer in the region.
	NewRegionPool func(region []byte, bufSize, headroom int) (P, error)
	// RegionBuffers is every buffer of a region pool, in region order.
	RegionBuffers func(p P) []Buffer
	// Owns reports whether b belongs to p's current slab.
	Owns func(p P, b *Buffer) bool
	// AllocBuffer takes one buffer out of a fixed-size pool, one
	// reference held by the caller.
	AllocBuffer func(p P) (*Buffer, error)
	// BufferAt is the buffer of a region pool at offset bytes into the
	// region.
	BufferAt func(p P, offset int) (*Buffer, error)
	// FrameOn makes a frame whose payload is b.Mem[off:off+n], holding
	// its own reference to b, with no headroom.
	FrameOn func(p P, b *Buffer, off, n int) (F, error)
	// FramesCarved appends to dst frames k0..k1-1 of the current group
	// of the loop's Carver, cut out of the datagrams laid end to end in
	// b.Mem[:n], each seg bytes long but the last, with no headroom. The
	// loop holds the frames until SettleCarved and never releases them
	// itself (a slave that keeps one retains it); it keeps its own
	// reference to b until then. k0 may not go back within a group; on
	// an error (a body still in use) nothing is appended.
	FramesCarved func(p P, c *Carver, b *Buffer, n, seg, k0, k1 int, dst []F) ([]F, error)
	// FrameCarvedOver makes frame k of the current group, for a buffer
	// of p holding one datagram of n bytes: the frame spans b's usable
	// space and headroom, as FrameOver's does.
	FrameCarvedOver func(p P, c *Carver, b *Buffer, k, n int) (F, error)
	// SettleCarved ends the group: the loop lets go of every frame cut
	// in it, and each frame still retained gets its own reference to its
	// buffer. Call it after delivering them, before giving up a buffer.
	SettleCarved func(p P, c *Carver)
	// SendHeld hands frames of the current group, before SettleCarved,
	// to m's slaves, in order; it fails with engine.ErrClosed once m is
	// closed, delivering none.
	SendHeld func(m M, fs []F) error
	// FrameOnWindows makes one frame of the windows in order, holding
	// its own reference to each buffer.
	FrameOnWindows func(p P, ws []Window) (F, error)
	// FrameOver makes a frame over the whole usable space of b, a buffer
	// of p, with the first n bytes as payload.
	FrameOver func(p P, b *Buffer, n int) F
	// Retire makes later allocations from p fail with engine.ErrClosed
	// and calls fn once no buffer is out any more.
	Retire func(p P, fn func())
	// TxWindow is the transmit fast path's look at a frame: its payload
	// size and a window of it (see engine's txWindow), ok false when the
	// frame needs the checked slow path.
	TxWindow func(f F, maxPayload int) (n int, win []byte, ok bool)
	// Segments appends f's segments to dst.
	Segments func(f F, dst []Segment) ([]Segment, error)
}

var registered any

// Register installs the hooks; engine calls it once, at init.
func Register[F, P, M any](h *Hooks[F, P, M]) { registered = h }

// Get returns the hooks registered for F, P and M, or nil if engine has not
// registered them (it always has once a package importing engine runs).
func Get[F, P, M any]() *Hooks[F, P, M] {
	h, _ := registered.(*Hooks[F, P, M])
	return h
}
