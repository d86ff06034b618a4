//go:build linux

package mmsg

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn moves batches of UDP datagrams over a *net.UDPConn with recvmmsg and
// sendmmsg, optionally with UDP GSO and GRO. It supports one reading and one
// writing goroutine at a time (see the package documentation). Make one
// with NewConn; the zero value is not usable.
type Conn struct {
	uc    *net.UDPConn
	rc    syscall.RawConn
	inet6 bool
	batch int

	rd     ioState     // owned by the reading goroutine
	poller pollerEntry // see pollerEntry for who owns what
	wr     ioState     // owned by the writing goroutine

	mem      memInfo // MemInfo
	gro      atomic.Bool
	blocking atomic.Bool  // SetBlockingReads succeeded
	spin     atomic.Int64 // SetReadSpin, ns

	gsoOff        atomic.Bool
	gsoNoFallback atomic.Bool
	gsoMu         sync.Mutex
	gsoErr        error // why GSO is off; guarded by gsoMu
}

// NewConn prepares batched I/O on c with room for batch messages per system
// call (1..MaxBatch). The Conn does not take c over: deadlines, buffer sizes
// and Close of c keep working and affect the Conn, and Conn.Close closes c.
//
// NewConn probes whether the kernel knows UDP_SEGMENT; if it does not,
// GSOEnabled reports false from the start and GSO messages are sent as
// separate datagrams.
func NewConn(c *net.UDPConn, batch int) (*Conn, error) {
	if c == nil {
		return nil, errors.New("mmsg: NewConn: nil *net.UDPConn")
	}
	if batch < 1 || batch > MaxBatch {
		return nil, fmt.Errorf("mmsg: NewConn: batch size %d outside 1..%d", batch, MaxBatch)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("mmsg: NewConn: %w", err)
	}
	var domain int
	var gsoErr error
	var sockErr error
	err = rc.Control(func(fd uintptr) {
		domain, sockErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		if sockErr != nil {
			return
		}
		_, gsoErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	})
	if err == nil {
		err = sockErr
	}
	if err != nil {
		return nil, fmt.Errorf("mmsg: NewConn: socket domain: %w", err)
	}
	if domain != unix.AF_INET && domain != unix.AF_INET6 {
		return nil, fmt.Errorf("mmsg: NewConn: socket domain %d is neither AF_INET nor AF_INET6", domain)
	}
	conn := &Conn{uc: c, rc: rc, inet6: domain == unix.AF_INET6, batch: batch}
	conn.mem.fn = conn.mem.read
	conn.rd.init(batch, recvControlSpace)
	conn.wr.init(batch, sendControlSpace)
	conn.wr.park = conn.holdWrites
	if gsoErr != nil {
		conn.disableGSO(gsoErr)
	}
	return conn, nil
}

// batchSize returns the most messages one ReadBatch or WriteBatch system call
// moves.
func (c *Conn) batchSize() int { return c.batch }

// Close closes the underlying *net.UDPConn. A ReadBatch or WriteBatch blocked
// in another goroutine returns an error matching net.ErrClosed; so does a
// blocking read (SetBlockingReads), which Close first wakes by shutting the
// socket down for reading.
func (c *Conn) Close() error {
	if c.blocking.Load() {
		c.wakeReader()
	}
	return c.uc.Close()
}

// EnableGRO asks the kernel to coalesce runs of equal datagrams from one
// sender into one receive (UDP_GRO, Linux 5.0+). Receive buffers should then
// hold GROBufferSize bytes per message, and readers must split messages whose
// SegmentSize is set (see Message.Datagrams and SegmentAt). Call it before
// reading.
func (c *Conn) EnableGRO() error {
	if err := c.setInt(unix.IPPROTO_UDP, unix.UDP_GRO, 1); err != nil {
		return fmt.Errorf("mmsg: enable UDP_GRO: %w", err)
	}
	c.gro.Store(true)
	return nil
}

// GROEnabled reports whether EnableGRO succeeded.
func (c *Conn) GROEnabled() bool { return c.gro.Load() }

// KernelDrops returns how many socket buffers the kernel has dropped on
// this socket (sk_drops: mostly for lack of receive-buffer room, the count
// SO_RXQ_OVFL would stamp on received datagrams). A socket buffer is one
// datagram, except with GRO on (EnableGRO), where it is one run of up to
// MaxGSOSegmentsLimit datagrams: the kernel counts the run once. See
// MemInfo for when it is read.
func (c *Conn) KernelDrops() uint64 {
	d, _ := c.MemInfo()
	return d
}

// MemInfo reads the socket's SO_MEMINFO: KernelDrops, and the receive
// buffer in bytes as the kernel charges it (twice the payload room asked
// for with SetReadBuffer, the rest covering its bookkeeping). It is read
// from the kernel when called, so receiving pays nothing for it, and it
// allocates nothing. The kernel's 32-bit drop counter is widened; after
// Close the last values read stay. Safe to call from any goroutine.
func (c *Conn) MemInfo() (drops uint64, rcvbuf int) {
	c.mem.mu.Lock()
	defer c.mem.mu.Unlock()
	m := &c.mem
	if !m.closed {
		m.ok = false
		// Through the RawConn a closed socket fails the read instead of
		// reading a reused descriptor; its error allocates, so it is not
		// asked again.
		if c.rc.Control(m.fn) != nil {
			m.closed = true
		} else if m.ok {
			m.note(m.info[skMeminfoDrops], m.info[skMeminfoRcvbuf])
		}
	}
	return m.drops, m.rcvbuf
}

// Indices into SO_MEMINFO's array of skMeminfoVars counters
// (linux/sock_diag.h).
const (
	skMeminfoRcvbuf = 1
	skMeminfoDrops  = 8
	skMeminfoVars   = 9
)

// memInfo is MemInfo's state. fn is its read bound once, so that handing
// it to RawConn.Control allocates nothing.
type memInfo struct {
	mu        sync.Mutex
	fn        func(fd uintptr)
	info      [skMeminfoVars]uint32
	ok        bool
	closed    bool
	dropsSeen uint32 // the kernel's last 32-bit sk_drops value
	drops     uint64 // widened
	rcvbuf    int
}

// note folds one reading of the kernel's 32-bit drop counter into the
// 64-bit one (it only grows, so the difference modulo 2^32 is the drops
// since the last reading) and keeps the receive buffer.
func (m *memInfo) note(drops, rcvbuf uint32) {
	m.drops += uint64(drops - m.dropsSeen)
	m.dropsSeen = drops
	m.rcvbuf = int(rcvbuf)
}

func (m *memInfo) read(fd uintptr) {
	l := uint32(unsafe.Sizeof(m.info))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&m.info[0])), uintptr(unsafe.Pointer(&l)), 0)
	m.ok = e == 0 && l > skMeminfoDrops*4
}

// GSOEnabled reports whether messages with a SegmentSize still go to the
// kernel as one GSO buffer. It turns false when the kernel refuses GSO (at
// NewConn, or on a send) or after DisableGSO; messages are then segmented
// in software into separate datagrams.
func (c *Conn) GSOEnabled() bool { return !c.gsoOff.Load() }

// gsoError returns why GSO is off (wrapping errGSOUnsupported and, when the
// kernel refused it, the errno), or nil while it is on.
func (c *Conn) gsoError() error {
	c.gsoMu.Lock()
	defer c.gsoMu.Unlock()
	return c.gsoErr
}

// DisableGSO turns GSO off for this Conn: messages with a SegmentSize are
// sent as separate datagrams from then on. It is for callers that know the
// path lacks offload, and for measuring the difference.
func (c *Conn) DisableGSO() {
	c.disableGSO(errors.New("disabled by caller"))
}

// setGSOFallback chooses what a send does when the kernel refuses GSO: with
// on (the default) it turns GSO off and sends the message as separate
// datagrams; with off it turns GSO off and returns an error wrapping
// errGSOUnsupported, leaving the message unsent.
func (c *Conn) setGSOFallback(on bool) { c.gsoNoFallback.Store(!on) }

func (c *Conn) disableGSO(cause error) {
	c.gsoMu.Lock()
	defer c.gsoMu.Unlock()
	if c.gsoErr == nil {
		c.gsoErr = fmt.Errorf("%w: %w", errGSOUnsupported, cause)
	}
	c.gsoOff.Store(true)
}

// SetReadBuffer sets the socket receive buffer to bytes, beyond the
// net.core.rmem_max limit when the process may (SO_RCVBUFFORCE needs
// CAP_NET_ADMIN), and returns the size the kernel granted (which it reports
// doubled, for its bookkeeping).
func (c *Conn) SetReadBuffer(bytes int) (int, error) {
	return c.setBuffer(unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, bytes)
}

// SetWriteBuffer is SetReadBuffer for the send buffer (SO_SNDBUFFORCE,
// SO_SNDBUF).
func (c *Conn) SetWriteBuffer(bytes int) (int, error) {
	return c.setBuffer(unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, bytes)
}

func (c *Conn) setBuffer(force, plain, bytes int) (int, error) {
	if bytes <= 0 {
		return 0, fmt.Errorf("mmsg: buffer size %d must be positive", bytes)
	}
	var got int
	var serr error
	err := c.rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, force, bytes); serr != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, plain, bytes)
		}
		if serr == nil {
			got, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, plain)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, fmt.Errorf("mmsg: set socket buffer: %w", err)
	}
	return got, nil
}

func (c *Conn) setInt(level, opt, value int) error {
	var serr error
	err := c.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), level, opt, value)
	})
	if err != nil {
		return err
	}
	return serr
}
