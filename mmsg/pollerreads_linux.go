//go:build linux

package mmsg

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Go registers every socket in its netpoller's epoll set, for reading and
// writing. While the reads sleep in the kernel (ReadBatchBlocking) the
// read half is worse than useless: every datagram that arrives also wakes
// whatever runtime thread waits in epoll_wait (the thread of an idle P
// does, whenever the process has a timer pending), which finds nothing to
// do and sleeps again. On the receiving CPU that is a second thread woken
// and switched to for every arrival, and the sender's CPU pays for the
// extra wake-up too. So the blocking reads take the read events out of the
// socket's registration, and ReadBatch, which waits in the netpoller, puts
// them back; each change is one epoll_ctl, made only when the kind of read
// changes. The write events go too (see pollerWriteEvents) while no send
// waits for room: a send that finds the buffer full puts them back before
// it waits in the netpoller.
//
// The runtime does not say which epoll set is its own; it is found once in
// /proc/self/fdinfo, as the only epoll instance that lists this socket
// (same descriptor and inode). When none or more than one does, nothing is
// changed, which costs only the extra wake-ups.

// pollerReadEvents are the events that a received datagram signals.
const pollerReadEvents = unix.EPOLLIN | unix.EPOLLRDNORM | unix.EPOLLRDBAND | unix.EPOLLPRI | unix.EPOLLRDHUP

// pollerWriteEvents are the events that room in the send buffer signals.
// On loopback (and on a NIC once the datagram has left) the kernel signals
// them after every send, so while they are registered each send also wakes
// the runtime thread in epoll_wait, which then competes for the sending
// CPU just when the reply is due (docs/latency.md has the traces).
const pollerWriteEvents = unix.EPOLLOUT | unix.EPOLLWRNORM | unix.EPOLLWRBAND

// pollerOneShot is what stands for the write events while they are out:
// EPOLLOUT armed for one event (EPOLLONESHOT), after which the kernel
// reports nothing more for the socket until the next change. Taking every
// event out would leave EPOLLERR, which the kernel always reports: an ICMP
// error for a connected socket would then reach the runtime as an event of
// EPOLLERR alone, which the runtime keeps as "not pollable" for the next
// read that waits in the netpoller (TestSocketErrorDuringBlockingReads).
// The one event comes with the next send, with EPOLLOUT in it.
const pollerOneShot = unix.EPOLLOUT | unix.EPOLLONESHOT

// Whether the socket's registration has been looked up.
const (
	pollerUnknown = iota // not looked up yet
	pollerAbsent         // not found unambiguously: left alone
	pollerFound          // found; out says what is taken out
)

// pollerEntry is the socket's registration in the runtime's epoll set.
// While the reads block in the kernel, the read events are taken out, and
// so are the write events unless a send waits in the netpoller for room
// (holdWrites); ReadBatch puts everything back. The reading goroutine and
// the writing one both change it, under mu; settled lets the reading one
// skip the lock while nothing needs changing.
type pollerEntry struct {
	mu       sync.Mutex
	state    int
	epfd     int
	events   uint32 // as the runtime registered them
	data     uint64 // the runtime's own, given back unchanged
	out      uint32 // events taken out now
	blocking bool   // the reader wants its events out
	writers  int    // sends waiting in the netpoller for room
	// settled: out is what blocking and writers ask for (or the
	// registration is absent); read without mu by the reading goroutine.
	settled atomic.Bool
	// readerBlocking is the kind of read last asked for; owned by the
	// reading goroutine.
	readerBlocking bool
}

// target is what should be taken out; mu is held.
func (e *pollerEntry) target() uint32 {
	if !e.blocking {
		return 0
	}
	if e.writers > 0 {
		return pollerReadEvents
	}
	return pollerReadEvents | pollerWriteEvents
}

// setBlocking records the kind of read that follows and changes the
// registration to match, looking it up first if need be; it runs inside
// RawConn.Control.
func (e *pollerEntry) setBlocking(fd int, blocking bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == pollerUnknown && blocking {
		e.lookUp(fd)
	}
	e.blocking = blocking
	e.apply(fd)
}

// holdWrites puts the write events back for a send that is about to wait
// in the netpoller; releaseWrites ends that. The kernel reports a socket
// that is writable already when the events are put back, so no wake-up is
// lost between the send's EAGAIN and the wait.
func (e *pollerEntry) holdWrites(fd int) {
	e.mu.Lock()
	e.writers++
	e.apply(fd)
	e.mu.Unlock()
}

func (e *pollerEntry) releaseWrites() {
	e.mu.Lock()
	e.writers--
	// The reader takes the write events out again at its next read.
	e.settled.Store(e.state != pollerFound || e.out == e.target())
	e.mu.Unlock()
}

// apply makes the registration take out what target says; mu is held.
func (e *pollerEntry) apply(fd int) {
	want := e.target()
	if e.state == pollerFound && e.out != want {
		ev := unix.EpollEvent{Events: e.events &^ want}
		if want&pollerWriteEvents != 0 {
			ev.Events |= pollerOneShot
		}
		// Fd and Pad are the kernel's 64-bit data word; written whole, so
		// the runtime's word comes back in its byte order on every
		// architecture.
		*(*uint64)(unsafe.Pointer(&ev.Fd)) = e.data
		if unix.EpollCtl(e.epfd, unix.EPOLL_CTL_MOD, fd, &ev) == nil {
			e.out = want
		}
	}
	e.settled.Store(e.state != pollerFound || e.out == want)
}

// lookUp finds the socket's registration, with its events in place.
func (e *pollerEntry) lookUp(fd int) {
	e.state = pollerAbsent
	if epfd, ev, data, ok := findPollerEntry(fd); ok && ev&unix.EPOLLIN != 0 {
		e.state, e.epfd, e.events, e.data = pollerFound, epfd, ev, data
	}
}

// findPollerEntry finds the only epoll instance of the process that lists
// fd, and fd's events and data in it.
func findPollerEntry(fd int) (epfd int, events uint32, data uint64, ok bool) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0, 0, 0, false
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, 0, 0, false
	}
	found := 0
	for _, d := range ents {
		n, err := strconv.Atoi(d.Name())
		if err != nil || n == fd {
			continue
		}
		if l, err := os.Readlink("/proc/self/fd/" + d.Name()); err != nil || l != "anon_inode:[eventpoll]" {
			continue
		}
		if ev, dt, ok := epollEntry(n, fd, st.Ino); ok {
			found++
			epfd, events, data = n, ev, dt
		}
	}
	return epfd, events, data, found == 1
}

// epollEntry reads, from the fdinfo of epoll instance epfd, the events and
// data of its entry for descriptor fd with inode ino. A line reads
// "tfd: 7 events: 8000201d data: 7f0e... pos:0 ino:1199c4 sdev:9".
func epollEntry(epfd, fd int, ino uint64) (events uint32, data uint64, ok bool) {
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(epfd))
	if err != nil {
		return 0, 0, false
	}
	want, wantIno := strconv.Itoa(fd), "ino:"+strconv.FormatUint(ino, 16)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[0] != "tfd:" || f[1] != want || f[2] != "events:" || f[4] != "data:" {
			continue
		}
		if !hasField(f[6:], wantIno) {
			continue
		}
		ev, err1 := strconv.ParseUint(f[3], 16, 32)
		d, err2 := strconv.ParseUint(f[5], 16, 64)
		return uint32(ev), d, err1 == nil && err2 == nil
	}
	return 0, 0, false
}

func hasField(f []string, s string) bool {
	for _, x := range f {
		if x == s {
			return true
		}
	}
	return false
}
