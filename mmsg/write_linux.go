//go:build linux

package mmsg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WriteBatch sends msgs with as few sendmmsg calls as the batch size allows
// and returns how many messages were sent, setting N on each of them. A
// message is one datagram, or with SegmentSize set one GSO buffer that the
// kernel cuts into datagrams of that size.
//
// It blocks, parked in the netpoller, while the socket send buffer is full,
// and continues after a partial send until every message is out or an error
// stops it. On error the returned count tells how many leading messages went
// out; msgs[n] did not (unless it was being split in software, in which case
// its N tells how many bytes of it did). Whether to retry msgs[n] or skip it
// depends on the error: syscall.ECONNREFUSED reports an ICMP error caused by
// an earlier datagram of a connected socket, so msgs[n] may be sent again;
// syscall.EMSGSIZE and address errors are about msgs[n] itself.
//
// When the kernel refuses GSO (EIO: the device cannot checksum; EINVAL,
// ENOPROTOOPT or EOPNOTSUPP: the kernel cannot segment this buffer), the Conn
// turns GSO off (see GSOEnabled, gsoError) and sends that message and later
// ones as separate datagrams, cut at SegmentSize without copying.
func (c *Conn) WriteBatch(msgs []Message) (int, error) {
	return c.write(msgs, c.batch)
}

// WriteOne sends m with one sendmsg call: the one-datagram-per-syscall
// baseline. A GSO message is one call too while GSO is on.
func (c *Conn) WriteOne(m *Message) error {
	if m == nil {
		return errNilMessage
	}
	_, err := c.write(unsafe.Slice(m, 1), 1)
	return err
}

// TryWriteOne is WriteOne without the wait: when the socket send buffer is
// full it returns at once with an error matching syscall.EAGAIN. A caller
// that sends one datagram at a time tries first and arms a write deadline
// only when it must wait, so the common case costs one system call.
func (c *Conn) TryWriteOne(m *Message) error {
	if m == nil {
		return errNilMessage
	}
	c.wr.noWait = true
	_, err := c.write(unsafe.Slice(m, 1), 1)
	c.wr.noWait = false
	return err
}

// TryWriteBatch is WriteBatch without the wait: when the socket send
// buffer fills it returns at once, with the count of messages sent and an
// error matching syscall.EAGAIN. A message that must be cut into datagrams
// in software is not started either (a part of it could not be taken
// back): it reports EAGAIN too, so that the caller sends it with
// WriteBatch under its deadline.
func (c *Conn) TryWriteBatch(msgs []Message) (int, error) {
	c.wr.noWait = true
	n, err := c.write(msgs, c.batch)
	c.wr.noWait = false
	return n, err
}

func (c *Conn) write(msgs []Message, limit int) (int, error) {
	s := &c.wr
	sent := 0
	for sent < len(msgs) {
		gso := !c.gsoOff.Load()
		m := &msgs[sent]
		if needsSplit(m, gso) {
			if s.noWait {
				return sent, &opError{op: "sendmmsg", err: unix.EAGAIN}
			}
			if err := c.writeSplit(m); err != nil {
				return sent, err
			}
			sent++
			continue
		}
		k, err := c.prepareWrite(msgs[sent:], limit, gso)
		if k == 0 {
			return sent, err
		}
		op := "sendmmsg"
		s.sysno, s.first, s.arg = unix.SYS_SENDMMSG, 0, uintptr(k)
		if limit == 1 {
			op = "sendmsg"
			s.sysno = unix.SYS_SENDMSG
		}
		err = c.rc.Write(s.fn)
		c.unpark()
		if err != nil {
			return sent, &opError{op: op, err: err}
		}
		if s.errno != 0 {
			if gso && m.SegmentSize > 0 && isGSOErrno(s.errno) && m.Len() > m.SegmentSize {
				c.disableGSO(s.errno)
				if c.gsoNoFallback.Load() {
					return sent, &opError{op: op, err: c.gsoError()}
				}
				continue // the loop now splits m
			}
			return sent, &opError{op: op, err: s.errno}
		}
		n := s.ret
		if s.sysno == unix.SYS_SENDMSG {
			s.hdrs[0].Len = uint32(n)
			n = 1
		}
		if n <= 0 || n > k {
			return sent, fmt.Errorf("mmsg: %s sent %d of %d messages", op, n, k)
		}
		for i := range n {
			msgs[sent+i].N = int(s.hdrs[i].Len)
		}
		sent += n
	}
	return sent, nil
}

// needsSplit reports whether m must be cut into datagrams in software: it
// asks for segmentation, GSO is off, and it holds more than one segment.
func needsSplit(m *Message, gso bool) bool {
	return m.SegmentSize > 0 && !gso && m.Len() > m.SegmentSize
}

// isGSOErrno reports whether a send of a GSO buffer failed because the
// kernel or device cannot segment it.
func isGSOErrno(e unix.Errno) bool {
	switch e {
	case unix.EIO, unix.EINVAL, unix.ENOPROTOOPT, unix.EOPNOTSUPP:
		return true
	}
	return false
}

// prepareWrite fills send headers for the longest leading run of msgs (at
// most limit) that can go in one call, and returns its length. The run ends
// before a message that must be split in software and before an invalid
// message; if the first message is invalid it returns 0 and the reason.
func (c *Conn) prepareWrite(msgs []Message, limit int, gso bool) (int, error) {
	s := &c.wr
	k := min(len(msgs), limit)
	for i := 1; i < k; i++ {
		if needsSplit(&msgs[i], gso) {
			k = i
			break
		}
	}
	s.ensureIovs(countBuffers(msgs[:k]))
	iov := 0
	for i := range k {
		m := &msgs[i]
		h := &s.hdrs[i]
		if m.SegmentSize < 0 || m.SegmentSize > maxSegmentSize {
			if i == 0 {
				return 0, fmt.Errorf("mmsg: segment size %d outside 0..%d", m.SegmentSize, maxSegmentSize)
			}
			return i, nil
		}
		if err := c.setDestination(&h.Hdr, i, m); err != nil {
			if i == 0 {
				return 0, err
			}
			return i, nil
		}
		s.setBuffers(&h.Hdr, iov, m.Buffers)
		iov += len(m.Buffers)
		if gso && m.SegmentSize > 0 {
			data := putCmsg(s.control(i), unix.IPPROTO_UDP, unix.UDP_SEGMENT, 2)
			binary.NativeEndian.PutUint16(data, uint16(m.SegmentSize))
			h.Hdr.Control = &s.ctrl[i*s.space]
			h.Hdr.SetControllen(sendControlSpace)
		} else {
			h.Hdr.Control = nil
			h.Hdr.SetControllen(0)
		}
		h.Hdr.Flags = 0
		h.Len = 0
	}
	return k, nil
}

// setDestination writes m's destination into address slot i and points h at
// it; a zero Addr leaves the destination to a connected socket.
func (c *Conn) setDestination(h *unix.Msghdr, i int, m *Message) error {
	if !m.Addr.Addr().IsValid() {
		h.Name, h.Namelen = nil, 0
		return nil
	}
	n, err := c.wr.names[i].setAddrPort(m.Addr, c.inet6)
	if err != nil {
		return err
	}
	h.Name, h.Namelen = &c.wr.names[i][0], uint32(n)
	return nil
}

// writeSplit sends a GSO message as separate datagrams of SegmentSize bytes
// (the last may be shorter), batch by batch, with iovecs pointing into the
// message's buffers. m.N counts the bytes that went out.
func (c *Conn) writeSplit(m *Message) error {
	s := &c.wr
	total, seg := m.Len(), m.SegmentSize
	nseg := segments(total, seg)
	m.N = 0
	var dst unix.Msghdr
	if err := c.setDestination(&dst, 0, m); err != nil {
		return err
	}
	cur := bufCursor{bufs: m.Buffers}
	for done := 0; done < nseg; {
		k := min(nseg-done, c.batch)
		// A datagram spans at most the buffers it touches, so k datagrams
		// need at most k-1 more iovecs than there are buffers.
		s.ensureIovs(k + len(m.Buffers))
		iov := 0
		for i := range k {
			_, l, _ := SegmentAt(total, seg, done+i)
			h := &s.hdrs[i]
			start := iov
			iov = cur.take(l, s.iovs, iov)
			h.Hdr.Iov = &s.iovs[start]
			h.Hdr.SetIovlen(iov - start)
			h.Hdr.Name, h.Hdr.Namelen = dst.Name, dst.Namelen
			h.Hdr.Control = nil
			h.Hdr.SetControllen(0)
			h.Hdr.Flags = 0
			h.Len = 0
		}
		for first := 0; first < k; {
			s.sysno, s.first, s.arg = unix.SYS_SENDMMSG, first, uintptr(k-first)
			err := c.rc.Write(s.fn)
			c.unpark()
			if err != nil {
				return &opError{op: "sendmmsg", err: err}
			}
			if s.errno != 0 {
				return &opError{op: "sendmmsg", err: s.errno}
			}
			if s.ret <= 0 || s.ret > k-first {
				return errors.New("mmsg: sendmmsg sent an impossible number of messages")
			}
			for i := first; i < first+s.ret; i++ {
				m.N += int(s.hdrs[i].Len)
			}
			first += s.ret
		}
		done += k
	}
	return nil
}

// bufCursor walks a message's buffers as one byte stream.
type bufCursor struct {
	bufs [][]byte
	i    int // current buffer
	off  int // offset in it
}

// take describes the next l bytes as iovecs starting at iovs[k] and returns
// the index after the last one written. Empty buffers are skipped.
func (b *bufCursor) take(l int, iovs []unix.Iovec, k int) int {
	for l > 0 && b.i < len(b.bufs) {
		rest := b.bufs[b.i][b.off:]
		if len(rest) == 0 {
			b.i, b.off = b.i+1, 0
			continue
		}
		t := min(l, len(rest))
		iovs[k].Base = &rest[0]
		iovs[k].SetLen(t)
		k++
		b.off += t
		l -= t
	}
	return k
}
