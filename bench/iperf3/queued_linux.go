package iperf3

import (
	"net"

	"golang.org/x/sys/unix"
)

// queued reports whether a datagram waits in the socket's receive queue;
// ok is false when that cannot be asked.
func queued(uc *net.UDPConn) (waiting, ok bool) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return false, false
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil || ierr != nil {
		return false, false
	}
	return n > 0, true
}
