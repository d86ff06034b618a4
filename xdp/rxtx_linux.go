//go:build linux

package xdp

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Fill gives UMEM addresses to the kernel for received frames, in one batch:
// it reserves room on the fill ring, writes the addresses and publishes them
// with a single index update. It returns how many were placed; fewer than
// len(addrs) means the fill ring is full and the rest are still the
// caller's: keep them and offer them again before waiting for packets.
//
// The kernel publishes its fill-ring consumer index lazily, only once it has
// used up every entry it saw at its last look, so a ring can look full while
// frames taken from it are already back in the caller's hands. With a fill
// ring at least twice as large as the number of chunks the caller ever
// hands to the kernel, Fill never comes up short. In zero-copy mode Fill
// wakes the driver if the ring asks for it.
func (s *Socket) Fill(addrs []uint64) (int, error) {
	s.rxs.addrs = addrs
	if err := s.rc.Control(s.rxs.fillFn); err != nil {
		return 0, s.mapErr(err)
	}
	s.rxs.addrs = nil
	return s.rxs.n, s.rxs.err
}

func (s *Socket) fillCB(uintptr) { s.rxs.n, s.rxs.err = s.fillRing(s.rxs.addrs) }

// fillRing places addrs on the fill ring and kicks the driver when asked.
func (s *Socket) fillRing(addrs []uint64) (int, error) {
	if len(addrs) == 0 {
		return 0, nil
	}
	idx, got := s.fill.reserve(uint32(min(len(addrs), int(s.fill.size))))
	for i := range got {
		*s.fill.at(idx + i) = addrs[i]
	}
	s.fill.submit(got)
	if s.fill.needWakeup() {
		if err := s.kickRx(); err != nil {
			return int(got), err
		}
	}
	return int(got), nil
}

// kickRx asks a sleeping zero-copy driver to look at the fill ring again.
// recvfrom with MSG_DONTWAIT is the documented non-blocking way.
func (s *Socket) kickRx() error {
	_, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.EINTR:
		return nil
	}
	return errors.Join(errors.New("xdp: rx wake-up"), e)
}

// fillFree returns how many addresses Fill could place right now.
func (s *Socket) fillFree() int { return int(s.fill.free(s.fill.size)) }

// tryReceive copies the descriptors of whole received packets into descs,
// without blocking, and returns how many it copied (0 when none are
// waiting). A multi-buffer packet occupies consecutive descriptors, all but
// the last with OptContinued set; NextPacket splits them. The UMEM frames
// they refer to belong to the caller until given back with Fill (or sent).
//
// If the next packet alone has more frames than len(descs), tryReceive returns
// ErrShortBuffer and leaves it in the ring.
func (s *Socket) tryReceive(descs []Desc) (int, error) {
	s.rxs.descs = descs
	if err := s.rc.Control(s.rxs.recvFn); err != nil {
		return 0, s.mapErr(err)
	}
	s.rxs.descs = nil
	return s.rxs.n, s.rxs.err
}

func (s *Socket) recvCB(uintptr) { s.rxs.n, s.rxs.err = s.receive(s.rxs.descs) }

// ReceiveWait is tryReceive that parks the goroutine in the Go netpoller until
// at least one packet is available, the read deadline passes (an error
// wrapping os.ErrDeadlineExceeded) or the socket is closed (ErrClosed). It
// never spins: the kernel signals readability when it publishes frames on
// the RX ring.
func (s *Socket) ReceiveWait(descs []Desc) (int, error) {
	if len(descs) == 0 {
		return 0, nil
	}
	s.rxs.descs = descs
	err := s.rc.Read(s.rxs.waitFn)
	s.rxs.descs = nil
	if err != nil {
		return 0, s.mapErr(err)
	}
	return s.rxs.n, s.rxs.err
}

// waitCB runs under the netpoller: true ends the wait.
func (s *Socket) waitCB(uintptr) bool {
	s.rxs.n, s.rxs.err = s.receive(s.rxs.descs)
	if s.rxs.n > 0 || s.rxs.err != nil {
		return true
	}
	// About to sleep: make sure a zero-copy driver that stopped for lack of
	// buffers looks at the fill ring again.
	if s.fill.needWakeup() {
		if err := s.kickRx(); err != nil {
			s.rxs.err = err
			return true
		}
	}
	return false
}

// receive copies whole packets off the RX ring and releases their slots.
func (s *Socket) receive(descs []Desc) (int, error) {
	want := uint32(min(len(descs), int(s.rx.size)))
	if want == 0 {
		return 0, nil
	}
	idx, got := s.rx.peek(want)
	complete := uint32(0)
	for i := range got {
		d := *s.rx.at(idx + i)
		descs[i] = d
		if d.Options&OptContinued == 0 {
			complete = i + 1
		}
	}
	if complete == 0 {
		if got == want && got > 0 {
			return 0, ErrShortBuffer
		}
		// The kernel publishes packets whole, so a partial packet is
		// only possible if it is still being written: leave it.
		return 0, nil
	}
	s.rx.release(complete)
	return int(complete), nil
}

// Transmit queues frames for sending in one batch: it reserves TX slots,
// writes the descriptors, publishes them and, when the kernel asks for it
// (always in copy mode), wakes it with sendto(MSG_DONTWAIT). It returns how
// many descriptors were queued; fewer than len(descs) means the TX ring is
// full. Queued frames stay the kernel's until their addresses come back
// from Complete. A multi-buffer packet is given as consecutive descriptors
// with OptContinued on all but the last; the caller must not split one
// across calls when Transmit returns short (queue the rest first).
//
// Calling Transmit with no descriptors only wakes the kernel for frames
// queued earlier, which is how to push out a backlog once Complete has made
// room in the completion ring.
func (s *Socket) Transmit(descs []Desc) (int, error) {
	s.txs.descs = descs
	if err := s.rc.Control(s.txs.sendFn); err != nil {
		return 0, s.mapErr(err)
	}
	s.txs.descs = nil
	return s.txs.n, s.txs.err
}

func (s *Socket) sendCB(uintptr) { s.txs.n, s.txs.err = s.transmit(s.txs.descs) }

func (s *Socket) transmit(descs []Desc) (int, error) {
	if s.tx.entries == nil {
		return 0, ErrNoTxRing
	}
	idx, got := s.tx.reserve(uint32(min(len(descs), int(s.tx.size))))
	for i := range got {
		*s.tx.at(idx + i) = descs[i]
	}
	if got > 0 {
		s.tx.submit(got)
	}
	return int(got), s.kickTx()
}

// kickTx wakes the kernel for queued TX frames if it asked for it. In copy
// mode each sendto sends at most the socket's budget of frames and returns
// EAGAIN when it stops early, so it is repeated while the TX ring drains;
// it stops when a call makes no progress (completion ring or device full),
// leaving the rest for a later Transmit.
func (s *Socket) kickTx() error {
	for tries := 0; tries <= int(s.tx.size); tries++ {
		if !s.tx.needWakeup() || s.tx.pending() == 0 {
			return nil
		}
		before := s.tx.pending()
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.EINTR:
		default:
			return errors.Join(errors.New("xdp: tx wake-up"), e)
		}
		if e == 0 || s.tx.pending() >= before {
			return nil
		}
	}
	return nil
}

// TxFree returns how many descriptors Transmit could queue right now.
func (s *Socket) TxFree() int {
	if s.tx.entries == nil {
		return 0
	}
	return int(s.tx.free(s.tx.size))
}

// Complete copies the addresses of transmitted frames into addrs and
// returns how many; those frames are the caller's again.
func (s *Socket) Complete(addrs []uint64) (int, error) {
	s.txs.addrs = addrs
	if err := s.rc.Control(s.txs.compFn); err != nil {
		return 0, s.mapErr(err)
	}
	s.txs.addrs = nil
	return s.txs.n, nil
}

func (s *Socket) compCB(uintptr) {
	addrs := s.txs.addrs
	idx, got := s.comp.peek(uint32(min(len(addrs), int(s.comp.size))))
	for i := range got {
		addrs[i] = *s.comp.at(idx + i)
	}
	if got > 0 {
		s.comp.release(got)
	}
	s.txs.n = int(got)
}
