package engine

import (
	"fmt"
	"io"
	"sync/atomic"

	"udpstream.dev/engine/internal/poolx"
)

// Frame is a handle to a stream frame: an ordered list of buffer windows and
// the frame's metadata. It is a small value; copies refer to the same frame.
//
// A Frame is not synchronised: as in Rogue, code that shares a frame between
// goroutines must coordinate access itself. Reference counting (Retain and
// Release) is safe from any goroutine.
//
// The zero Frame is not valid: its getters return zero values and every
// other method returns ErrReleased.
type Frame struct {
	st  *frameState
	gen uint64
}

// frameState is the pooled body of a frame. It is recycled after the last
// release; its generation distinguishes its successive lives so that stale
// handles are detected instead of reading another frame's data.
type frameState struct {
	// life is the body's generation (high 32 bits), two marks of a
	// carved body (holdBit, dropBit) and its reference count (the low
	// 30 bits) in one word, so that making, retaining and releasing a
	// frame each take one atomic step. A handle of a pool's body is
	// live while its generation is the body's and the count is not
	// zero; the body's next life starts at the next generation. A
	// stale handle would look live again only if kept over 2^32 lives
	// of its body that end on a live one. A carved body (group not nil)
	// reads the word differently: see carvedGroup.
	life atomic.Uint64
	pool *Pool

	// group is the receive loop's set that a carved body belongs to for
	// its whole existence, nil for a pool's body; next links it into
	// the set's stack of bodies given back.
	group *carvedGroup
	next  *frameState

	segs    []segment
	flags   uint16
	channel uint8
	err     uint8
}

// refMask is the reference count's part of frameState.life, genMask the
// generation's once shifted down. holdBit and dropBit are used by carved
// bodies only (see carvedGroup).
const (
	refMask = 1<<30 - 1
	dropBit = 1 << 30
	holdBit = 1 << 31
	genMask = 1<<32 - 1
)

// live reports whether life word w belongs to a live frame of generation
// gen of a pool's body.
func live(w, gen uint64) bool { return w>>32 == gen && w&refMask != 0 }

// holds reports whether the handle of generation gen (for a carved body,
// its group's epoch) is live.
func (st *frameState) holds(gen uint64) bool {
	w := st.life.Load()
	if st.group != nil {
		return st.group.holds(w, gen)
	}
	return live(w, gen)
}

// segment is one window of a buffer that belongs to a frame.
// buf.Mem[lo:hi] is the usable capacity, buf.Mem[lo:lo+n] the payload, and
// floor..lo the headroom that PushHeader may claim.
type segment struct {
	buf   *poolx.Buffer
	floor int
	lo    int
	hi    int
	n     int
}

// state returns the frame's body if the handle is still live.
func (f Frame) state() (*frameState, error) {
	if f.st == nil || !f.st.holds(f.gen) {
		return nil, ErrReleased
	}
	return f.st, nil
}

// Valid reports whether the frame has not been released.
func (f Frame) Valid() bool {
	_, err := f.state()
	return err == nil
}

// Retain adds a reference. A slave that keeps a frame after its AcceptFrame
// returns must retain it and release it later. It fails with ErrReleased
// on a stale handle, and with ErrFrameSize past 2^30-1 references.
func (f Frame) Retain() error {
	if f.st == nil {
		return ErrReleased
	}
	if f.st.group != nil {
		return f.st.group.retain(f.st, f.gen)
	}
	for {
		w := f.st.life.Load()
		switch {
		case !live(w, f.gen):
			return ErrReleased
		case w&refMask == refMask:
			return fmt.Errorf("%w: a frame retained %d times", ErrFrameSize, uint64(refMask))
		}
		if f.st.life.CompareAndSwap(w, w+1) {
			return nil
		}
	}
}

// Release drops one reference. When the last reference goes, the buffers
// return to their pools and every copy of this handle becomes invalid.
// Two holders racing to release the last reference cannot both succeed:
// the loser gets ErrReleased and the frame is freed once.
func (f Frame) Release() error {
	if f.st == nil {
		return ErrReleased
	}
	if f.st.group != nil {
		return f.st.group.release(f.st, f.gen)
	}
	for {
		w := f.st.life.Load()
		if !live(w, f.gen) {
			return ErrReleased
		}
		if f.st.life.CompareAndSwap(w, w-1) {
			if w&refMask == 1 {
				f.st.recycle()
			}
			return nil
		}
	}
}

// recycle returns the buffers and the frame body to their pools; the count
// is already zero, so every handle of this life is stale.
func (st *frameState) recycle() {
	for i := range st.segs {
		st.segs[i].buf.Release()
		st.segs[i] = segment{}
	}
	st.segs = st.segs[:0]
	st.flags, st.channel, st.err = 0, 0, 0
	p := st.pool
	st.pool = nil
	p.putState(st)
}

// Size is the frame's capacity in bytes: the sum of its buffers' usable
// space, excluding headroom.
func (f Frame) Size() int {
	st, err := f.state()
	if err != nil {
		return 0
	}
	return st.size()
}

// Payload is the number of bytes written into the frame.
func (f Frame) Payload() int {
	st, err := f.state()
	if err != nil {
		return 0
	}
	return st.payload()
}

func (st *frameState) payload() int {
	total := 0
	for i := range st.segs {
		total += st.segs[i].n
	}
	return total
}

// Available is Size minus Payload.
func (f Frame) Available() int { return f.Size() - f.Payload() }

// BufferCount is the number of buffers the frame spans.
func (f Frame) BufferCount() int {
	st, err := f.state()
	if err != nil {
		return 0
	}
	return len(st.segs)
}

// SetPayload sets the payload to n bytes, filling the buffers in order.
// It fails with ErrFrameSize when n is negative or larger than Size.
func (f Frame) SetPayload(n int) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	return st.setPayload(n)
}

func (st *frameState) setPayload(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: payload %d is negative", ErrFrameSize, n)
	}
	if size := st.size(); n > size {
		return fmt.Errorf("%w: payload %d exceeds frame size %d", ErrFrameSize, n, size)
	}
	st.fill(n)
	return nil
}

// fill spreads n payload bytes over the buffers in order; n <= size.
func (st *frameState) fill(n int) {
	for i := range st.segs {
		s := &st.segs[i]
		s.n = min(n, s.hi-s.lo)
		n -= s.n
	}
}

func (st *frameState) size() int {
	total := 0
	for i := range st.segs {
		total += st.segs[i].hi - st.segs[i].lo
	}
	return total
}

// MinPayload grows the payload to at least n bytes; it never shrinks it.
func (f Frame) MinPayload(n int) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	if n <= st.payload() {
		return nil
	}
	return st.setPayload(n)
}

// AdjustPayload adds delta (which may be negative) to the payload.
func (f Frame) AdjustPayload(delta int) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	// payload and size are at most 2*MaxFrameSize, far from overflow;
	// delta is the caller's and is compared, never added, until it fits.
	payload, size := st.payload(), st.size()
	if delta < -payload || delta > size-payload {
		return fmt.Errorf("%w: adjusting payload %d by %d leaves 0..%d", ErrFrameSize, payload, delta, size)
	}
	return st.setPayload(payload + delta)
}

// Channel is the frame's 8-bit channel number.
func (f Frame) Channel() uint8 {
	if st, err := f.state(); err == nil {
		return st.channel
	}
	return 0
}

// SetChannel sets the channel number.
func (f Frame) SetChannel(ch uint8) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	st.channel = ch
	return nil
}

// Error is the frame's 8-bit error code; non-zero marks a damaged frame.
func (f Frame) Error() uint8 {
	if st, err := f.state(); err == nil {
		return st.err
	}
	return 0
}

// SetError sets the error code.
func (f Frame) SetError(code uint8) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	st.err = code
	return nil
}

// Flags is the frame's 16-bit flags word.
func (f Frame) Flags() uint16 {
	if st, err := f.state(); err == nil {
		return st.flags
	}
	return 0
}

// SetFlags replaces the flags word.
func (f Frame) SetFlags(flags uint16) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	st.flags = flags
	return nil
}

// FirstUser is the low byte of the flags.
func (f Frame) FirstUser() uint8 { return uint8(f.Flags()) }

// LastUser is the high byte of the flags.
func (f Frame) LastUser() uint8 { return uint8(f.Flags() >> 8) }

// SetFirstUser replaces the low byte of the flags. (Rogue's setter ORs bits
// in; replacing the byte is what a setter is expected to do.)
func (f Frame) SetFirstUser(v uint8) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	st.flags = st.flags&0xff00 | uint16(v)
	return nil
}

// SetLastUser replaces the high byte of the flags.
func (f Frame) SetLastUser(v uint8) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	st.flags = st.flags&0x00ff | uint16(v)<<8
	return nil
}

// Bytes returns the payload of a single-buffer frame without copying. The
// slice aliases pooled memory: it is valid only until the frame is released.
func (f Frame) Bytes() ([]byte, error) {
	st, err := f.state()
	if err != nil {
		return nil, err
	}
	switch len(st.segs) {
	case 0:
		return nil, nil
	case 1:
		s := &st.segs[0]
		return s.buf.Mem[s.lo : s.lo+s.n : s.lo+s.n], nil
	}
	return nil, ErrNotContiguous
}

// Memory returns the whole usable space (Size bytes) of a single-buffer
// frame, for a transport that receives straight into it and then calls
// SetPayload. It is valid only until the frame is released.
func (f Frame) Memory() ([]byte, error) {
	st, err := f.state()
	if err != nil {
		return nil, err
	}
	if len(st.segs) != 1 {
		return nil, ErrNotContiguous
	}
	s := &st.segs[0]
	return s.buf.Mem[s.lo:s.hi:s.hi], nil
}

// AppendBuffers appends the non-empty payload slice of each buffer to dst,
// for scatter-gather I/O. It does not allocate when dst has room.
func (f Frame) AppendBuffers(dst [][]byte) ([][]byte, error) {
	st, err := f.state()
	if err != nil {
		return dst, err
	}
	for i := range st.segs {
		s := &st.segs[i]
		if s.n > 0 {
			dst = append(dst, s.buf.Mem[s.lo:s.lo+s.n:s.lo+s.n])
		}
	}
	return dst, nil
}

// ReadAt copies payload bytes starting at off into p, crossing buffer
// boundaries. It implements io.ReaderAt: fewer than len(p) bytes come with
// io.EOF.
func (f Frame) ReadAt(p []byte, off int64) (int, error) {
	st, err := f.state()
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset %d", ErrFrameSize, off)
	}
	done := 0
	pos := int(min(off, int64(st.payload())))
	skip := pos
	for i := range st.segs {
		s := &st.segs[i]
		if skip >= s.n {
			skip -= s.n
			continue
		}
		c := copy(p[done:], s.buf.Mem[s.lo+skip:s.lo+s.n])
		done += c
		skip = 0
		if done == len(p) {
			return done, nil
		}
	}
	return done, io.EOF
}

// WriteAt copies p into the frame at offset off, crossing buffer boundaries,
// and grows the payload to cover what was written. Writing past Size fails
// with ErrFrameSize and writes nothing, whatever the offset (the bound is
// checked without computing off+len(p), which could overflow).
func (f Frame) WriteAt(p []byte, off int64) (int, error) {
	st, err := f.state()
	if err != nil {
		return 0, err
	}
	size := st.size()
	if off < 0 || off > int64(size) || int64(len(p)) > int64(size)-off {
		return 0, fmt.Errorf("%w: write of %d bytes at %d exceeds frame size %d", ErrFrameSize, len(p), off, size)
	}
	end := int(off) + len(p)
	if end > st.payload() {
		st.fill(end)
	}
	done, skip := 0, int(off)
	for i := range st.segs {
		s := &st.segs[i]
		capacity := s.hi - s.lo
		if skip >= capacity {
			skip -= capacity
			continue
		}
		done += copy(s.buf.Mem[s.lo+skip:s.hi], p[done:])
		skip = 0
		if done == len(p) {
			break
		}
	}
	return done, nil
}

// Write appends p after the current payload. It implements io.Writer.
func (f Frame) Write(p []byte) (int, error) {
	return f.WriteAt(p, int64(f.Payload()))
}

// NewReader returns an io.Reader over the current payload.
func (f Frame) NewReader() *io.SectionReader {
	return io.NewSectionReader(f, 0, int64(f.Payload()))
}

// Headroom is the number of bytes PushHeader can still claim in front of the
// payload.
func (f Frame) Headroom() int {
	st, err := f.state()
	if err != nil || len(st.segs) == 0 {
		return 0
	}
	return st.segs[0].lo - st.segs[0].floor
}

// PushHeader claims n bytes of headroom in front of the payload and returns
// them for the caller to fill with a protocol header; the payload and size
// grow by n. It fails with ErrFrameSize when the headroom is too small.
func (f Frame) PushHeader(n int) ([]byte, error) {
	st, err := f.state()
	if err != nil {
		return nil, err
	}
	if len(st.segs) == 0 || n < 0 || st.segs[0].lo-st.segs[0].floor < n {
		return nil, fmt.Errorf("%w: header of %d bytes exceeds headroom %d", ErrFrameSize, n, f.Headroom())
	}
	s := &st.segs[0]
	s.lo -= n
	s.n += n
	return s.buf.Mem[s.lo : s.lo+n : s.lo+n], nil
}

// PullHeader gives n bytes at the front of the payload back to headroom,
// the inverse of PushHeader (a receiver stripping a header).
func (f Frame) PullHeader(n int) error {
	st, err := f.state()
	if err != nil {
		return err
	}
	if len(st.segs) == 0 || n < 0 || st.segs[0].n < n {
		return fmt.Errorf("%w: cannot pull %d header bytes from the first buffer", ErrFrameSize, n)
	}
	s := &st.segs[0]
	s.lo += n
	s.n -= n
	return nil
}
