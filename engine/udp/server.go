package udp

import (
	"net/netip"

	"udpstream.dev/engine"
)

// Server is a UDP stream endpoint listening on a local port (Rogue's
// rogue.protocols.udp.Server).
//
// As a Master it emits every received datagram as a frame whose payload is
// the datagram itself, received straight into pool memory. Slaves borrow
// the frame for the duration of AcceptFrame (Retain it to keep it); the
// server lets go of it once it has delivered every datagram of the same
// receive call (a GRO buffer, or a recvmmsg batch), and the handle of a
// frame not retained is stale from then on.
//
// As a Slave it transmits the frames it accepts to the peer it most
// recently received from. Its transmit pool (MaxPayload buffers) serves
// AcceptReq, so a Master attached to the server draws its frames from it,
// and ReqFrame.
//
// A Server is safe for concurrent use. Close stops it.
type Server struct {
	engine.Master

	ep *endpoint
}

// NewServer binds a UDP socket on port (0: the system chooses; see Port)
// and starts receiving. jumbo selects MaxPayload 8972 (MTU 9000) instead of
// 1472 (MTU 1500). Without WithBindAddress it listens on every IPv4 and
// IPv6 address. Errors say what is wrong: a port in use, an invalid port or
// option, a bind address the host does not have.
func NewServer(port int, jumbo bool, opts ...Option) (*Server, error) {
	s := &Server{}
	ep, err := newEndpoint(&s.Master, jumbo, false, opts)
	if err != nil {
		return nil, err
	}
	if err := ep.open(port, netip.AddrPort{}); err != nil {
		return nil, err
	}
	s.SetPool(ep.txPool)
	s.ep = ep
	return s, nil
}

// Port is the bound local UDP port, the one the system chose when
// NewServer was given 0.
func (s *Server) Port() int { return int(s.ep.localAddr().Port()) }

// LocalAddr is the bound local address and port.
func (s *Server) LocalAddr() netip.AddrPort { return s.ep.localAddr() }

// Peer is the reply address: the last peer a datagram was accepted from,
// or the zero AddrPort before the first one.
func (s *Server) Peer() netip.AddrPort { return s.ep.peer.load() }

// MaxPayload is the largest datagram payload: 8972 with jumbo, else 1472.
func (s *Server) MaxPayload() int { return s.ep.maxPayload }

// SetRxBufferCount asks the kernel for a receive buffer of count MTUs
// (count × (MaxPayload+28) bytes) on every socket, beyond the system limit
// when the process has CAP_NET_ADMIN. It reads the size back and returns
// false, with a warning in the log, when the kernel granted less. Without
// it the system default (about 208 KiB) applies, as in Rogue.
func (s *Server) SetRxBufferCount(count int) bool { return s.ep.setRxBufferCount(count) }

// SetTimeout sets how long, in microseconds, a transmission waits for room
// when the socket send buffer is full (default one second). Single frames
// and batches are tried at once and wait only when the buffer is full.
// When the wait expires the frames not sent are counted in
// Stats.TxTimeouts and the send fails with ErrTxTimeout; nothing is
// retried forever. 0 means no wait: what does not fit the buffer fails at
// once (TransportXDP still gives the kernel a millisecond to free TX ring
// room).
func (s *Server) SetTimeout(usec uint32) { s.ep.setTimeout(usec) }

// AcceptFrame transmits f to the peer as one datagram (Rogue's Slave
// contract: no error is returned). A frame that cannot go (error field
// set, larger than MaxPayload, no peer yet, timeout, kernel error) is
// counted in Stats, logged at most once a second per kind, and gets
// TxErrorCode as its error unless it had one. With WithTxQueue the frame is
// retained and queued instead.
func (s *Server) AcceptFrame(f engine.Frame) { s.ep.acceptFrame(f) }

// Send transmits f to the peer as one datagram, gathering its buffers
// without copying, and returns why it could not: ErrNoPeer, ErrClosed,
// ErrFrameErrored, ErrFrameSize, ErrTxTimeout or a kernel error. The frame
// is not released.
func (s *Server) Send(f engine.Frame) error { return s.ep.send(f) }

// SendBatch transmits frames with as few system calls as the transport
// allows: sendmmsg, and with TransportGRO runs of equal-size frames (the
// last may be shorter) coalesced into one UDP GSO message without copying.
// Frames that cannot go are counted and skipped; it returns how many went
// out and the first error. The frames are not released.
func (s *Server) SendBatch(fs []engine.Frame) (int, error) { return s.ep.sendBatch(fs) }

// FrameCount is the number of frames accepted by AcceptFrame (Rogue's
// Slave counter); Stats().TxFrames counts those that reached the kernel.
func (s *Server) FrameCount() uint64 { return s.ep.slave.FrameCount() }

// ByteCount is the payload bytes of the frames accepted by AcceptFrame.
func (s *Server) ByteCount() uint64 { return s.ep.slave.ByteCount() }

// SetDebug logs the first maxBytes bytes of every frame AcceptFrame
// receives, under name, through the WithLogger logger (slog.Default()
// without one: the dump is an explicit request); 0 turns it off.
func (s *Server) SetDebug(maxBytes int, name string) { s.ep.slave.SetDebug(maxBytes, name) }

// AcceptReq allocates a frame of at least size bytes from the server's
// transmit pool, whose buffers hold MaxPayload bytes each (Rogue's
// acceptReq: a larger request gets several buffers, which Send refuses).
// It implements engine.Allocator, so a Master attached to the server draws
// from this pool. After Close it fails with ErrClosed.
func (s *Server) AcceptReq(size int, zeroCopy bool) (engine.Frame, error) {
	return s.ep.acceptReq(size, zeroCopy)
}

// ReqFrame is AcceptReq: the frames a server hands out, whoever asks, come
// from its own transmit pool and are counted by AllocCount.
func (s *Server) ReqFrame(size int, zeroCopy bool) (engine.Frame, error) {
	return s.ep.acceptReq(size, zeroCopy)
}

// AllocCount is the number of transmit pool buffers currently lent out.
func (s *Server) AllocCount() int { return s.ep.txPool.AllocCount() }

// AllocBytes is the memory, in bytes, of the transmit pool buffers lent out.
func (s *Server) AllocBytes() int { return s.ep.txPool.AllocBytes() }

// Stats returns a snapshot of the counters and the offload state.
func (s *Server) Stats() Stats { return s.ep.stats() }

// Close stops receiving and transmitting, flushes the transmit queue
// (waiting at most one transmit timeout), delivers frames still in the
// receive queue, closes the sockets and the Master, and waits for every
// goroutine the server started. It returns promptly whether or not traffic
// flows. It is safe to call more than once and concurrently with Send and
// AcceptFrame, which fail with ErrClosed afterwards.
func (s *Server) Close() error { return s.ep.close() }
