//go:build linux

package udp

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketControl returns the net.ListenConfig / net.Dialer hook that sets
// the options that must precede bind: SO_REUSEPORT and SO_BUSY_POLL.
func socketControl(reuse bool, busyPoll int) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if reuse {
				if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); e != nil {
					serr = fmt.Errorf("set SO_REUSEPORT: %w", e)
					return
				}
			}
			if busyPoll > 0 {
				if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BUSY_POLL, busyPoll); e != nil {
					serr = fmt.Errorf("set SO_BUSY_POLL to %d us (raising it needs CAP_NET_ADMIN): %w", busyPoll, e)
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// isMsgTrunc reports a truncated datagram in recvmsg flags.
func isMsgTrunc(flags int) bool { return flags&unix.MSG_TRUNC != 0 }

// Errno values the endpoint tests for, named here so that portable files
// need not import x/sys/unix.
var (
	errnoAgain       error = unix.EAGAIN
	errnoConnRefused error = unix.ECONNREFUSED
	errnoMsgSize     error = unix.EMSGSIZE
)

// udpSupported reports whether this platform has the UDP endpoints.
const udpSupported = true
