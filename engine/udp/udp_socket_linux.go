//go:build linux

package udp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"

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

// rawSender sends one datagram per sendmsg call from a list of buffers
// (scatter-gather). It first tries without waiting, so the common case
// (socket buffer not full) needs no deadline bookkeeping; only when the
// kernel answers EAGAIN does the caller arm a deadline and wait.
//
// It is used under the endpoint's transmit lock.
type rawSender struct {
	rc    syscall.RawConn
	inet6 bool

	hdr     unix.Msghdr
	iovs    []unix.Iovec
	name    [unix.SizeofSockaddrInet6]byte
	dest    netip.AddrPort // what name holds
	namelen uint32

	wait  bool // park on EAGAIN instead of reporting it
	n     int
	errno unix.Errno
	fn    func(fd uintptr) bool
}

func newRawSender(rc syscall.RawConn, inet6 bool) *rawSender {
	s := &rawSender{rc: rc, inet6: inet6, iovs: make([]unix.Iovec, 8)}
	s.fn = s.do
	return s
}

func (s *rawSender) do(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&s.hdr)), 0)
		switch e {
		case 0:
			s.n, s.errno = int(r), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if s.wait {
				return false
			}
		}
		s.n, s.errno = 0, e
		return true
	}
}

// prepare points the message header at bufs and dest (zero dest: the
// socket is connected).
func (s *rawSender) prepare(bufs [][]byte, dest netip.AddrPort) error {
	if len(bufs) > len(s.iovs) {
		s.iovs = make([]unix.Iovec, max(len(bufs), 2*len(s.iovs)))
	}
	for i, b := range bufs {
		s.iovs[i].Base = unsafe.SliceData(b)
		s.iovs[i].SetLen(len(b))
	}
	s.hdr = unix.Msghdr{}
	if len(bufs) > 0 {
		s.hdr.Iov = &s.iovs[0]
		s.hdr.SetIovlen(len(bufs))
	}
	if dest.IsValid() {
		if dest != s.dest || s.namelen == 0 {
			n, err := encodeSockaddr(&s.name, dest, s.inet6)
			if err != nil {
				return err
			}
			s.dest, s.namelen = dest, uint32(n)
		}
		s.hdr.Name = &s.name[0]
		s.hdr.Namelen = s.namelen
	}
	return nil
}

// send makes one attempt (wait false) or waits for room under the
// connection's write deadline (wait true). It returns the errno (EAGAIN
// included when not waiting) or the RawConn's error (closed, deadline).
func (s *rawSender) send(wait bool) error {
	s.wait = wait
	if err := s.rc.Write(s.fn); err != nil {
		return err
	}
	if s.errno != 0 {
		return s.errno
	}
	return nil
}

// encodeSockaddr writes ap as a Linux sockaddr_in (IPv4 socket) or
// sockaddr_in6 (IPv6 socket, IPv4 as IPv4-mapped) and returns its length.
func encodeSockaddr(b *[unix.SizeofSockaddrInet6]byte, ap netip.AddrPort, inet6 bool) (int, error) {
	*b = [unix.SizeofSockaddrInet6]byte{}
	ip := ap.Addr()
	binary.BigEndian.PutUint16(b[2:4], ap.Port())
	if !inet6 {
		ip = ip.Unmap()
		if !ip.Is4() {
			return 0, fmt.Errorf("engine: cannot send to %v from an IPv4 socket", ap)
		}
		binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET)
		a := ip.As4()
		copy(b[4:8], a[:])
		return unix.SizeofSockaddrInet4, nil
	}
	binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET6)
	a := ip.As16()
	copy(b[8:24], a[:])
	if z := ip.Zone(); z != "" {
		idx, err := zoneIndex(z)
		if err != nil {
			return 0, err
		}
		binary.NativeEndian.PutUint32(b[24:28], idx)
	}
	return unix.SizeofSockaddrInet6, nil
}

// Indices into the SO_MEMINFO array (linux/sock_diag.h).
const (
	skMeminfoDrops = 8
	skMeminfoVars  = 9
)

// socketDrops reads how many datagrams the kernel dropped on the socket
// (sk_drops, mostly for lack of receive-buffer room) through SO_MEMINFO:
// the counter SO_RXQ_OVFL would stamp on every received datagram, read
// only when asked, so the receive path pays nothing for it.
func socketDrops(rc syscall.RawConn) (uint32, bool) {
	var info [skMeminfoVars]uint32
	ok := false
	rc.Control(func(fd uintptr) {
		l := uint32(unsafe.Sizeof(info))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&l)), 0)
		ok = e == 0 && l > skMeminfoDrops*4
	})
	return info[skMeminfoDrops], ok
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
