//go:build linux

package mmsg

import (
	"os"
	"strconv"
	"strings"
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
// changes. Write events stay, so a send that finds the buffer full still
// waits in the netpoller.
//
// The runtime does not say which epoll set is its own; it is found once in
// /proc/self/fdinfo, as the only epoll instance that lists this socket
// (same descriptor and inode). When none or more than one does, nothing is
// changed, which costs only the extra wake-ups.

// pollerReadEvents are the events that a received datagram signals.
const pollerReadEvents = unix.EPOLLIN | unix.EPOLLRDNORM | unix.EPOLLRDBAND | unix.EPOLLPRI | unix.EPOLLRDHUP

// Where the socket's registration stands; owned by the reading goroutine.
const (
	pollerUnknown = iota // not looked up yet
	pollerAbsent         // not found unambiguously: left alone
	pollerReads          // found, read events in place (as registered)
	pollerNoReads        // found, read events taken out
)

// pollerEntry is the socket's registration in the runtime's epoll set.
type pollerEntry struct {
	state  int
	epfd   int
	events uint32 // as the runtime registered them
	data   uint64 // the runtime's own, given back unchanged
}

// setReads puts the read events into the registration (on) or takes them
// out, looking the registration up first if need be; it runs inside
// RawConn.Control.
func (e *pollerEntry) setReads(fd int, on bool) {
	if e.state == pollerUnknown {
		e.lookUp(fd)
	}
	if e.state == pollerAbsent || (e.state == pollerReads) == on {
		return
	}
	ev := unix.EpollEvent{Events: e.events}
	if !on {
		ev.Events &^= pollerReadEvents
	}
	// Fd and Pad are the kernel's 64-bit data word; written whole, so the
	// runtime's word comes back in its byte order on every architecture.
	*(*uint64)(unsafe.Pointer(&ev.Fd)) = e.data
	if unix.EpollCtl(e.epfd, unix.EPOLL_CTL_MOD, fd, &ev) != nil {
		return // unchanged; the state still says what is in place
	}
	e.state = pollerNoReads
	if on {
		e.state = pollerReads
	}
}

// lookUp finds the socket's registration, with its read events in place.
func (e *pollerEntry) lookUp(fd int) {
	e.state = pollerAbsent
	if epfd, ev, data, ok := findPollerEntry(fd); ok && ev&unix.EPOLLIN != 0 {
		e.state, e.epfd, e.events, e.data = pollerReads, epfd, ev, data
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
