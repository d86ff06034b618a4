//go:build linux

package xdp

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mode returns the mode the socket is bound in.
func (s *Socket) Mode() Mode { return s.mode }

// zeroCopy reports whether the kernel granted zero-copy (XDP_OPTIONS).
func (s *Socket) zeroCopy() bool { return s.zc }

// MultiBuffer reports whether the socket was bound with XDP_USE_SG: packets
// may then span several descriptors.
func (s *Socket) MultiBuffer() bool { return s.sg }

// ifIndex returns the interface index the socket is bound to.
func (s *Socket) ifIndex() int { return s.ifindex }

// queueID returns the queue the socket is bound to.
func (s *Socket) queueID() int { return s.queue }

// steering returns the steering program the socket is registered with.
func (s *Socket) steering() *program { return s.prog }

// umemBytes returns the packet memory registered with the socket.
func (s *Socket) umemBytes() []byte { return s.umem }

// chunkSize returns the UMEM chunk size.
func (s *Socket) chunkSize() int { return int(s.chunk) }

// headroom returns the caller headroom configured for received frames.
func (s *Socket) headroom() int { return int(s.head) }

// rxOffset is the offset within a chunk at which the kernel writes a
// received frame: its own XDP headroom plus the configured headroom.
func (s *Socket) rxOffset() int { return xdpPacketHeadroom + int(s.head) }

// chunkAddr returns the start of the chunk containing addr. Any address in a
// chunk may be given to the fill ring; the kernel aligns it.
func (s *Socket) chunkAddr(addr uint64) uint64 { return addr &^ uint64(s.chunk-1) }

// descBytes returns the UMEM bytes a descriptor refers to.
func (s *Socket) descBytes(d Desc) []byte {
	return s.umem[d.Addr : d.Addr+uint64(d.Len) : d.Addr+uint64(d.Len)]
}

// SetReadDeadline sets the time after which ReceiveWait gives up with an
// error wrapping os.ErrDeadlineExceeded; the zero time means no deadline.
func (s *Socket) SetReadDeadline(t time.Time) error {
	if err := s.file.SetReadDeadline(t); err != nil {
		return fmt.Errorf("xdp: set deadline: %w", err)
	}
	return nil
}

// Stats reads the kernel's drop counters for the socket. It does not
// allocate unless it fails; on a closed socket it returns ErrClosed.
func (s *Socket) Stats() (Stats, error) {
	s.sts.mu.Lock()
	defer s.sts.mu.Unlock()
	if s.closed.Load() {
		return Stats{}, ErrClosed
	}
	s.sts.err = nil
	if err := s.rc.Control(s.sts.fn); err != nil {
		return Stats{}, s.mapErr(err)
	}
	if s.sts.err != nil {
		return Stats{}, fmt.Errorf("xdp: XDP_STATISTICS: %w", s.sts.err)
	}
	st := &s.sts.st
	return Stats{
		RxDropped:       st.Rx_dropped,
		RxInvalidDescs:  st.Rx_invalid_descs,
		TxInvalidDescs:  st.Tx_invalid_descs,
		RxRingFull:      st.Rx_ring_full,
		RxFillRingEmpty: st.Rx_fill_ring_empty_descs,
		TxRingEmpty:     st.Tx_ring_empty_descs,
	}, nil
}

func (s *Socket) statsCB(fd uintptr) {
	_, s.sts.err = getsockopt(int(fd), unix.XDP_STATISTICS, unsafe.Pointer(&s.sts.st), unsafe.Sizeof(s.sts.st))
}

// mapErr turns the errors of a RawConn on a closed file into ErrClosed.
func (s *Socket) mapErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("xdp: receive: %w", err)
	}
	if s.closed.Load() || errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("xdp: %w", err)
}
