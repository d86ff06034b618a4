package zmq

import (
	"unsafe"

	"golang.org/x/sys/unix"
	"udpstream.dev/engine"
)

// maxIov is the most iovecs one writev takes (IOV_MAX on Linux).
const maxIov = 1024

// txState holds the message being sent, as iovecs for writev: one for the
// ZMTP headers and the three small parts, one per payload buffer. It is
// reused for every frame, so sending does not allocate.
type txState struct {
	hdr  [32]byte
	bufs [][]byte
	iov  []unix.Iovec

	first   int  // first iovec not fully written
	left    int  // bytes still to write
	sent    int  // bytes of this message written
	mayWait bool // on EAGAIN, let the poller wait for room
	blocked bool // the last attempt stopped on EAGAIN
	err     error

	writeFn func(fd uintptr) bool // t.write, bound once
}

func (t *txState) init(config) {
	t.bufs = make([][]byte, 0, 8)
	t.iov = make([]unix.Iovec, 0, 8)
	t.writeFn = t.write
}

// build lays out f as the 4-part message and returns its payload size.
func (t *txState) build(f engine.Frame) (int, error) {
	bufs, size, err := appendMessage(&t.hdr, t.bufs[:0], f)
	t.bufs = bufs
	return size, err
}

// writeTo writes the rest of the message to c: without waiting, or, when
// mayWait is set, waiting for room until c's write deadline.
func (t *txState) writeTo(c *conn) error { return c.raw.Write(t.writeFn) }

// start points the iovecs at the whole message.
func (t *txState) start(mayWait bool) {
	t.iov = t.iov[:0]
	t.left = 0
	for _, b := range t.bufs {
		if len(b) == 0 {
			continue
		}
		var v unix.Iovec
		v.Base = &b[0]
		v.SetLen(len(b))
		t.iov = append(t.iov, v)
		t.left += len(b)
	}
	t.first, t.sent = 0, 0
	t.mayWait, t.blocked, t.err = mayWait, false, nil
}

// write is the raw-connection callback: writev until the message is out,
// the socket is full (EAGAIN) or an error occurs. Returning false asks the
// poller to wait for room and call again.
func (t *txState) write(fd uintptr) bool {
	for t.left > 0 {
		cnt := min(len(t.iov)-t.first, maxIov)
		n, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&t.iov[t.first])), uintptr(cnt))
		switch e {
		case 0:
			t.advance(int(n))
		case unix.EINTR:
		case unix.EAGAIN:
			t.blocked = true
			return !t.mayWait
		default:
			t.err = e
			return true
		}
	}
	t.blocked = false
	return true
}

// advance consumes n written bytes from the iovecs.
func (t *txState) advance(n int) {
	t.sent += n
	t.left -= n
	for n > 0 {
		v := &t.iov[t.first]
		if uint64(n) >= uint64(v.Len) {
			n -= int(v.Len)
			t.first++
			continue
		}
		v.Base = (*byte)(unsafe.Add(unsafe.Pointer(v.Base), n))
		v.SetLen(int(v.Len) - n)
		n = 0
	}
}
