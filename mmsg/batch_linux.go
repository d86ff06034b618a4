//go:build linux

package mmsg

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Room for the control messages of one received datagram: the UDP_GRO
// segment size (int), and two more of up to 16 bytes (a drop counter or a
// timestamp, say) so that an extra option enabled on the socket does not
// crowd out the first.
var recvControlSpace = cmsgSpace(4) + cmsgSpace(4) + cmsgSpace(16)

// sendControlSpace is the room for one UDP_SEGMENT control message (uint16).
var sendControlSpace = cmsgSpace(2)

// ioState is the kernel-facing state of one direction of a Conn: message
// headers, iovecs, address storage and control buffers, built once and
// refilled for every call, plus the arguments and results of the syscall
// function passed to syscall.RawConn.
//
// The syscall function is bound once (fn = s.do) so that handing it to
// RawConn.Read/Write allocates nothing; its inputs and outputs travel through
// the fields below instead of through a closure.
type ioState struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []sockaddr
	ctrl  []byte // ctrlSpace bytes per header, word aligned
	space int    // control bytes per header

	sysno uintptr // SYS_RECVMMSG, SYS_SENDMMSG or SYS_SENDMSG
	first int     // index of the first header to pass
	arg   uintptr // vlen for the mmsg calls, unused for sendmsg
	// flags are the call's MSG_ flags: MSG_DONTWAIT, so that a call never
	// blocks in the kernel even on a socket made blocking for
	// ReadBatchBlocking, except in that call itself.
	flags uintptr
	ret   int // messages (mmsg) or bytes (sendmsg) on success
	errno unix.Errno
	// noWait reports EAGAIN as an error instead of parking (TryWriteOne,
	// TryWriteBatch).
	noWait bool
	// park, for writes, runs once before a call waits in the netpoller
	// (Conn.holdWrites); parked says it ran and the write must release.
	park   func(fd uintptr)
	parked bool

	fn      func(fd uintptr) bool
	blockFn func(fd uintptr) // doOnce, for RawConn.Control
	spinFn  func(fd uintptr) // doSpin, for RawConn.Control
	spin    time.Duration    // doSpin's bound

	// Reads only: headers 0..ready-1 have been prepared once, and the
	// kernel may have written to headers 0..filled-1 since.
	ready, filled int
}

// init sizes the state for batch headers with space control bytes each.
func (s *ioState) init(batch, space int) {
	s.hdrs = make([]unix.Mmsghdr, batch)
	s.iovs = make([]unix.Iovec, batch)
	s.names = make([]sockaddr, batch)
	// Backed by uint64 so every control buffer starts word aligned, as
	// the kernel's CMSG macros expect.
	words := make([]uint64, (batch*space+7)/8)
	s.ctrl = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), batch*space)
	s.space = space
	s.flags = unix.MSG_DONTWAIT
	s.fn = s.do
	s.blockFn = s.doOnce
	s.spinFn = s.doSpin
}

// call makes the prepared system call once on fd.
func (s *ioState) call(fd uintptr) (uintptr, unix.Errno) {
	a3, a4 := s.arg, s.flags
	if s.sysno == unix.SYS_SENDMSG {
		a3, a4 = s.flags, 0
	}
	r, _, e := unix.RawSyscall6(s.sysno, fd, uintptr(unsafe.Pointer(&s.hdrs[s.first])), a3, a4, 0, 0)
	return r, e
}

// do runs the prepared syscall on fd. It reports false on EAGAIN so that the
// netpoller parks the goroutine until the socket is ready (unless noWait is
// set: then EAGAIN is the error), and true with the result or the error
// otherwise.
//
// The call is a raw syscall, which does not tell the scheduler it may
// block. It never waits (MSG_DONTWAIT), so it is bounded by the work of
// one batch; announcing it (unix.Syscall6) instead lets sysmon hand the P
// to another thread whenever a batch takes more than 20 µs, which a batch
// of large datagrams always does (docs/measurements.md has the cost). The
// price is that a stop-the-world pause may wait for one batch. This is the
// package's choice of raw over announced system calls for every read and
// write; the blocking reads (blocking_linux.go) are raw too, and bounded
// in other ways.
func (s *ioState) do(fd uintptr) bool {
	for {
		r, e := s.call(fd)
		switch e {
		case 0:
			s.ret, s.errno = int(r), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if !s.noWait {
				if s.park != nil && !s.parked {
					s.park(fd)
					s.parked = true
				}
				return false
			}
			s.ret, s.errno = 0, e
			return true
		default:
			s.ret, s.errno = 0, e
			return true
		}
	}
}

// ensureIovs makes room for n iovecs. It allocates only when a call needs
// more iovecs than any call before it.
func (s *ioState) ensureIovs(n int) {
	if n > len(s.iovs) {
		s.iovs = make([]unix.Iovec, max(n, 2*len(s.iovs)))
	}
}

// setBuffers points h at iovecs k, k+1, ... describing bufs.
func (s *ioState) setBuffers(h *unix.Msghdr, k int, bufs [][]byte) {
	if len(bufs) == 0 {
		h.Iov = nil
		h.SetIovlen(0)
		return
	}
	for j, b := range bufs {
		v := &s.iovs[k+j]
		v.Base = unsafe.SliceData(b)
		v.SetLen(len(b))
	}
	h.Iov = &s.iovs[k]
	h.SetIovlen(len(bufs))
}

// sameBuffers reports whether h already points at iovecs k, k+1, ...
// describing bufs.
func (s *ioState) sameBuffers(h *unix.Msghdr, k int, bufs [][]byte) bool {
	if len(bufs) == 0 {
		return h.Iov == nil && h.Iovlen == 0
	}
	if h.Iov != &s.iovs[k] || uint64(h.Iovlen) != uint64(len(bufs)) {
		return false
	}
	for j, b := range bufs {
		v := &s.iovs[k+j]
		if v.Base != unsafe.SliceData(b) || uint64(v.Len) != uint64(len(b)) {
			return false
		}
	}
	return true
}

// control returns the control buffer of header i.
func (s *ioState) control(i int) []byte {
	return s.ctrl[i*s.space : (i+1)*s.space]
}

// countBuffers returns the number of iovecs msgs need.
func countBuffers(msgs []Message) int {
	n := 0
	for i := range msgs {
		n += len(msgs[i].Buffers)
	}
	return n
}

// opError is the error of a failed kernel call: it names the call and wraps
// the cause (an errno, net.ErrClosed, os.ErrDeadlineExceeded) for errors.Is.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "mmsg: " + e.op + ": " + e.err.Error() }

func (e *opError) Unwrap() error { return e.err }
