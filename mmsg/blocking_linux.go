//go:build linux

package mmsg

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Blocking reads: the calling goroutine, locked to its OS thread, sleeps in
// the receive system call itself, so the kernel wakes that thread directly
// when a datagram arrives. ReadBatch instead parks the goroutine in the
// netpoller, and a wake-up then passes through another thread (the one
// polling) before it reaches a goroutine locked to its own: a second
// thread woken, and put back to sleep, for every datagram a reply waits
// for.
//
// The call is a raw system call: the runtime does not know the thread is
// blocked, and the goroutine keeps its P (one of GOMAXPROCS) while it
// sleeps. Two things bound that:
//
//   - SO_RCVTIMEO: a receive with a timeout is not restarted after a
//     signal handler runs (signal(7)), so the signal the runtime sends to
//     preempt a goroutine (every 10 ms of running, and at every
//     stop-the-world of the garbage collector) ends the call with EINTR,
//     and the goroutine yields at its next function call. The timeout
//     itself (the wake period) ends the call when the socket stays quiet.
//   - Close shuts the socket down for reading first, which wakes the
//     sleeping call at once; the kernel then reports a message without a
//     source address, which no datagram has.
//
// While the reads block, the socket's read events, and its write events
// unless a send waits for room, are out of the runtime's epoll set (see
// pollerEntry): otherwise every datagram received, and every one sent,
// would also wake the runtime thread that waits in epoll_wait.

// errNotBlocking is returned by the blocking reads before SetBlockingReads.
var errNotBlocking = errors.New("mmsg: blocking read on a Conn without SetBlockingReads")

// SetBlockingReads prepares the socket for ReadBatchBlocking: it clears
// O_NONBLOCK and sets SO_RCVTIMEO to wake (at least a microsecond;
// DefaultWakePeriod is a good choice), the longest one blocking read
// sleeps. Every other call of the Conn still passes
// MSG_DONTWAIT, so sends and ReadBatch behave as before; only the standard
// library's own reads on the *net.UDPConn would now block their thread,
// and its read deadlines no longer apply. Close the Conn with Conn.Close,
// which wakes a blocked read at once; closing the *net.UDPConn directly
// waits for the read to wake by itself (at most wake). Call it before
// reading.
func (c *Conn) SetBlockingReads(wake time.Duration) error {
	if wake < time.Microsecond {
		return fmt.Errorf("mmsg: wake period %v below 1µs", wake)
	}
	tv := unix.NsecToTimeval(wake.Nanoseconds())
	var serr error
	err := c.rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); serr != nil {
			serr = fmt.Errorf("set SO_RCVTIMEO: %w", serr)
			return
		}
		if serr = unix.SetNonblock(int(fd), false); serr != nil {
			serr = fmt.Errorf("clear O_NONBLOCK: %w", serr)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("mmsg: blocking reads: %w", err)
	}
	c.blocking.Store(true)
	return nil
}

// SetReadSpin makes every blocking read first try the socket without
// waiting, again and again for up to d (0..MaxReadSpin; 0, the default,
// turns it off), and sleep in the kernel only when nothing came. A reply
// that arrives within d then costs no wake-up at all, at the price of a
// CPU kept busy for d after every datagram. Safe to call at any time.
func (c *Conn) SetReadSpin(d time.Duration) error {
	if d < 0 || d > MaxReadSpin {
		return fmt.Errorf("mmsg: read spin %v outside 0..%v", d, MaxReadSpin)
	}
	c.spin.Store(int64(d))
	return nil
}

// ReadBatchBlocking is ReadBatch for a goroutine locked to its OS thread
// (runtime.LockOSThread) on a Conn prepared with SetBlockingReads: one
// recvmmsg that sleeps in the kernel until the first datagram arrives, then
// takes what else is queued (MSG_WAITFORONE). It returns 0, nil when it
// woke without a datagram (the wake period passed, or the runtime
// interrupted it to preempt the goroutine): the caller checks whatever
// tells it to stop and calls again. After Close it returns an error
// matching net.ErrClosed. Deadlines of the *net.UDPConn do not apply.
func (c *Conn) ReadBatchBlocking(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	if len(msgs) > c.batch {
		msgs = msgs[:c.batch]
	}
	return c.readBlocking(msgs)
}

// readBlocking makes one recvmmsg that waits for the first datagram
// (after the spin, if any) through RawConn.Control, which keeps the
// descriptor open (Close waits for the call) without the netpoller.
func (c *Conn) readBlocking(msgs []Message) (int, error) {
	const op = "recvmmsg"
	if !c.blocking.Load() {
		return 0, &opError{op: op, err: errNotBlocking}
	}
	if !c.poller.readerBlocking || !c.poller.settled.Load() {
		c.setPollerBlocking(true)
	}
	s := &c.rd
	c.prepareRead(msgs)
	var err error
	if s.spin = time.Duration(c.spin.Load()); s.spin > 0 {
		err = c.rc.Control(s.spinFn)
	}
	if s.spin <= 0 || (err == nil && s.errno == unix.EAGAIN) {
		s.flags = unix.MSG_WAITFORONE
		err = c.rc.Control(s.blockFn)
		s.flags = unix.MSG_DONTWAIT
	}
	if err != nil {
		return 0, &opError{op: op, err: err}
	}
	switch s.errno {
	case 0:
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	default:
		return 0, &opError{op: op, err: s.errno}
	}
	n := c.finishReads(msgs, s.ret)
	// A shutdown reads as a message without a source address; the
	// datagrams before it are real.
	for i := range n {
		if s.hdrs[i].Hdr.Namelen == 0 {
			if i == 0 {
				return 0, &opError{op: op, err: net.ErrClosed}
			}
			return i, nil
		}
	}
	return n, nil
}

// setPollerBlocking takes the socket's events out of the runtime's epoll
// set for blocking reads, or puts them back (see pollerEntry); only when
// the kind of read changes or a send waited for room, so the closure is
// made rarely.
func (c *Conn) setPollerBlocking(on bool) {
	c.poller.readerBlocking = on
	c.rc.Control(func(fd uintptr) { c.poller.setBlocking(int(fd), on) })
}

// holdWrites is the writes' park hook: the write events must be in place
// while a send waits in the netpoller.
func (c *Conn) holdWrites(fd uintptr) { c.poller.holdWrites(int(fd)) }

// unpark ends holdWrites after a write call.
func (c *Conn) unpark() {
	if c.wr.parked {
		c.wr.parked = false
		c.poller.releaseWrites()
	}
}

// doOnce makes the prepared call once, keeping its result and errno.
func (s *ioState) doOnce(fd uintptr) {
	r, e := s.call(fd)
	if e != 0 {
		s.ret, s.errno = 0, e
		return
	}
	s.ret, s.errno = int(r), 0
}

// doSpin repeats the prepared call, which must not wait (MSG_DONTWAIT),
// while it finds nothing, for up to s.spin; it ends with EAGAIN when
// nothing came.
func (s *ioState) doSpin(fd uintptr) {
	end := time.Now().Add(s.spin)
	for {
		s.doOnce(fd)
		if s.errno != unix.EAGAIN || !time.Now().Before(end) {
			return
		}
	}
}

// wakeReader shuts the socket down for reading, which ends a blocking read
// sleeping in the kernel. An unconnected socket reports ENOTCONN but is
// shut down all the same.
func (c *Conn) wakeReader() {
	c.rc.Control(func(fd uintptr) {
		unix.Shutdown(int(fd), unix.SHUT_RD)
	})
}
