package udp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"udpstream.dev/engine"
)

// Client is a UDP stream endpoint that talks to one remote server (Rogue's
// rogue.protocols.udp.Client). It has the Server's methods: frames it
// accepts go to the server, datagrams the server sends back are emitted to
// its slaves.
//
// Its socket is connected to the server, so the kernel drops datagrams
// from anyone else and reports ICMP port-unreachable errors, which are
// counted in Stats.ConnRefused without stopping the client.
type Client struct {
	engine.Master

	ep *endpoint
}

// resolveTimeout bounds a host name lookup.
const resolveTimeout = 10 * time.Second

// NewClient resolves host (a name, an IPv4 or an IPv6 address, brackets
// allowed) and opens a socket to host:port. jumbo selects MaxPayload 8972
// instead of 1472.
func NewClient(host string, port int, jumbo bool, opts ...Option) (*Client, error) {
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("udp: client port %d outside 1..65535", port)
	}
	c := &Client{}
	ep, err := newEndpoint(&c.Master, jumbo, true, opts)
	if err != nil {
		return nil, err
	}
	addr, err := resolveHost(host)
	if err != nil {
		return nil, err
	}
	if err := ep.open(0, netip.AddrPortFrom(addr, uint16(port))); err != nil {
		return nil, err
	}
	c.SetPool(ep.txPool)
	c.ep = ep
	return c, nil
}

// resolveHost returns host's address: a literal as is, a name through the
// system resolver (its first address, in the resolver's preference order).
func resolveHost(host string) (netip.Addr, error) {
	h := strings.TrimSpace(host)
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if h == "" {
		return netip.Addr{}, fmt.Errorf("udp: empty host name")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("udp: cannot resolve host %q: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("udp: host %q has no IP address", host)
	}
	return addrs[0].Unmap(), nil
}

// Port is the client's local UDP port (chosen by the system).
func (c *Client) Port() int { return int(c.ep.localAddr().Port()) }

// LocalAddr is the client's local address and port.
func (c *Client) LocalAddr() netip.AddrPort { return c.ep.localAddr() }

// Peer is the server's address.
func (c *Client) Peer() netip.AddrPort { return c.ep.remote }

// MaxPayload is the largest datagram payload: 8972 with jumbo, else 1472.
func (c *Client) MaxPayload() int { return c.ep.maxPayload }

// SetRxBufferCount is Server.SetRxBufferCount for the client's socket.
func (c *Client) SetRxBufferCount(count int) bool { return c.ep.setRxBufferCount(count) }

// SetTimeout is Server.SetTimeout: the transmit wait in microseconds.
func (c *Client) SetTimeout(usec uint32) { c.ep.setTimeout(usec) }

// AcceptFrame transmits f to the server; see Server.AcceptFrame.
func (c *Client) AcceptFrame(f engine.Frame) { c.ep.acceptFrame(f) }

// Send transmits f to the server as one datagram; see Server.Send.
func (c *Client) Send(f engine.Frame) error { return c.ep.send(f) }

// SendBatch transmits frames to the server in batches; see
// Server.SendBatch.
func (c *Client) SendBatch(fs []engine.Frame) (int, error) { return c.ep.sendBatch(fs) }

// FrameCount is the number of frames accepted by AcceptFrame.
func (c *Client) FrameCount() uint64 { return c.ep.slave.FrameCount() }

// ByteCount is the payload bytes of the frames accepted by AcceptFrame.
func (c *Client) ByteCount() uint64 { return c.ep.slave.ByteCount() }

// SetDebug logs the first maxBytes bytes of every frame AcceptFrame
// receives, under name, through the WithLogger logger (slog.Default()
// without one: the dump is an explicit request); 0 turns it off.
func (c *Client) SetDebug(maxBytes int, name string) { c.ep.slave.SetDebug(maxBytes, name) }

// AcceptReq allocates a frame of at least size bytes from the client's
// transmit pool, whose buffers hold MaxPayload bytes each (Rogue's
// acceptReq: a larger request gets several buffers, which Send refuses).
// It implements engine.Allocator, so a Master attached to the client draws
// from this pool. After Close it fails with ErrClosed.
func (c *Client) AcceptReq(size int, zeroCopy bool) (engine.Frame, error) {
	return c.ep.acceptReq(size, zeroCopy)
}

// ReqFrame is AcceptReq: the frames a client hands out, whoever asks, come
// from its own transmit pool and are counted by AllocCount.
func (c *Client) ReqFrame(size int, zeroCopy bool) (engine.Frame, error) {
	return c.ep.acceptReq(size, zeroCopy)
}

// AllocCount is the number of transmit pool buffers currently lent out.
func (c *Client) AllocCount() int { return c.ep.txPool.AllocCount() }

// AllocBytes is the memory, in bytes, of the transmit pool buffers lent out.
func (c *Client) AllocBytes() int { return c.ep.txPool.AllocBytes() }

// Stats returns a snapshot of the counters and the offload state.
func (c *Client) Stats() Stats { return c.ep.stats() }

// Close stops the client promptly, whether or not it ever sent; see
// Server.Close.
func (c *Client) Close() error { return c.ep.close() }
