//go:build linux

package mmsg

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// ReadBatch receives up to min(len(msgs), batchSize()) datagrams with one
// recvmmsg call and returns how many it received. It blocks, parked in the
// netpoller, until at least one datagram is queued, then takes whatever is
// queued without waiting for more. For each received message it sets N,
// Addr, SegmentSize and Truncated; msgs past the returned count are left
// untouched.
//
// It returns an error matching net.ErrClosed once the connection is closed,
// os.ErrDeadlineExceeded after the read deadline of the *net.UDPConn, and a
// wrapped errno such as syscall.ECONNREFUSED for a socket error the kernel
// queued; none of them spoils the Conn. With no messages it returns 0, nil at
// once.
func (c *Conn) ReadBatch(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	if len(msgs) > c.batch {
		msgs = msgs[:c.batch]
	}
	return c.read(msgs)
}

func (c *Conn) read(msgs []Message) (int, error) {
	if c.poller.readerBlocking {
		c.setPollerBlocking(false) // after blocking reads: wait in the netpoller again
	}
	s := &c.rd
	c.prepareRead(msgs)
	if err := c.rc.Read(s.fn); err != nil {
		return 0, &opError{op: "recvmmsg", err: err}
	}
	if s.errno != 0 {
		return 0, &opError{op: "recvmmsg", err: s.errno}
	}
	return c.finishReads(msgs, s.ret), nil
}

// prepareRead points the receive headers at msgs for one recvmmsg (see
// ioState.prepareRead). Until finishReads says how many the kernel filled,
// any of them may have been written.
func (c *Conn) prepareRead(msgs []Message) {
	s := &c.rd
	s.prepareRead(msgs)
	s.filled = len(msgs)
	s.sysno, s.first, s.arg = unix.SYS_RECVMMSG, 0, uintptr(len(msgs))
}

// finishReads fills msgs from the n messages a recvmmsg returned.
func (c *Conn) finishReads(msgs []Message, n int) int {
	c.rd.filled = min(n, len(msgs))
	for i := range n {
		c.finishRead(&msgs[i], i)
	}
	return n
}

// prepareRead points the first len(msgs) headers at the buffers of msgs.
// A receive loop posts the same buffers call after call, so only what has
// changed since the last call is written: the buffers of a message that
// got new ones, and the address and control lengths of the headers the
// kernel filled. The address and control pointers of a header never change,
// and its flags and length are the kernel's output only.
func (s *ioState) prepareRead(msgs []Message) {
	s.ensureIovs(countBuffers(msgs))
	k := 0
	for i := range msgs {
		h := &s.hdrs[i]
		bufs := msgs[i].Buffers
		switch {
		case i >= s.ready:
			s.setBuffers(&h.Hdr, k, bufs)
			h.Hdr.Name = &s.names[i][0]
			h.Hdr.Control = &s.ctrl[i*s.space]
		case !s.sameBuffers(&h.Hdr, k, bufs):
			s.setBuffers(&h.Hdr, k, bufs)
		}
		k += len(bufs)
		if i >= s.ready || i < s.filled {
			h.Hdr.Namelen = sizeofSockaddrInet6
			h.Hdr.SetControllen(s.space)
		}
	}
	s.ready = max(s.ready, len(msgs))
}

// finishRead copies the kernel's results for header i into m.
func (c *Conn) finishRead(m *Message, i int) {
	s := &c.rd
	h := &s.hdrs[i]
	m.N = int(h.Len)
	m.Addr, _ = s.names[i].addrPort(int(h.Hdr.Namelen))
	m.Truncated = h.Hdr.Flags&unix.MSG_TRUNC != 0
	m.SegmentSize = 0
	r := cmsgReader{b: s.control(i)[:min(int(h.Hdr.Controllen), s.space)]}
	for {
		level, typ, data, ok := r.next()
		if !ok {
			break
		}
		switch {
		case level == unix.IPPROTO_UDP && typ == unix.UDP_GRO && len(data) >= 4:
			m.SegmentSize = int(int32(binary.NativeEndian.Uint32(data)))
		}
	}
}
