package udp

import (
	"errors"
	"fmt"
	"strings"

	"udpstream.dev/xdp"
)

// Geometry of the AF_XDP transport.
const (
	// xdpChunk is the UMEM chunk size: one page. Every chunk is one buffer
	// of the endpoint's pool; a 1500-byte MTU frame fits one, a 9000-byte
	// one spans three.
	xdpChunk = 4096
	// xdpTxHeadroom is the headroom of the buffers the transmit pool hands
	// out: room for Ethernet, VLAN, IPv6 and UDP headers, and the same
	// offset at which the kernel writes received frames (its own XDP
	// headroom), so a received payload and a requested one sit alike.
	xdpTxHeadroom = 256
	// xdpMinPool is the least WithPoolSize the transport accepts: it must
	// stock the fill ring and leave buffers for slaves and transmission.
	xdpMinPool = 256
	// xdpMaxPosted caps the buffers kept on the fill ring.
	xdpMaxPosted = 2048
	// xdpMaxTxRing caps the transmit ring.
	xdpMaxTxRing = 1024
	// xdpMaxTxDescs is the most descriptors one transmitted datagram may
	// take (the kernel builds at most MAX_SKB_FRAGS fragments plus the
	// head); frames of more segments are copied.
	xdpMaxTxDescs = 16
	// xdpMaxRxDescs is the most descriptors the receive loop accepts for
	// one packet: a 64 KiB frame in 4 KiB chunks.
	xdpMaxRxDescs = 17
)

// xdpSettings are what WithXDP sets.
type xdpSettings struct {
	set   bool
	iface string
	queue int
	mode  xdp.Mode
}

// WithXDP names the interface, its receive queue and the XDP mode for
// TransportXDP (xdp.ModeAuto tries native zero-copy, native copy and
// generic copy in that order; Stats.XDP.Mode reports the outcome).
//
// The AF_XDP socket only sees the datagrams that arrive on that queue: on a
// multi-queue NIC steer the stream to it (an ethtool flow rule), or create
// veth pairs with one queue. Like package xdp, the constructor acts in the
// calling thread's network namespace. A steering program redirects UDP
// datagrams for the endpoint's port (and WithBindAddress, if given) to the
// socket; everything else (ARP, ICMP, other ports, IPv4 fragments) still
// reaches the kernel. An ordinary socket holds the port meanwhile, so the
// kernel hands it to nobody else (port 0 picks a free one).
//
// Memory: the UMEM is WithPoolSize chunks of 4 KiB (a jumbo datagram
// takes three), mapped at construction. It is also the transmit pool the
// Server or Client embeds, whose frames have room for the headers in
// front: frames from it, and received frames, are sent from where they
// are; frames from other pools are copied in (Stats.XDP.TxCopies). A quarter
// of the pool, at most 2048 chunks, is kept on the fill ring; frames slaves
// hold and frames in transmission use the rest. After Close the pool hands
// out nothing, and the UMEM is unmapped when the last frame a slave kept is
// released.
//
// Checksums: the IPv4 header checksum and the UDP checksum of every
// received datagram are verified, except a UDP checksum left to offload
// (see Stats.XDP.RxChecksumOffloaded). Transmitted datagrams carry both.
//
// A client finds its source address and next hop from the routing table
// (the route to the server must use the interface) and the next hop's MAC
// from the neighbour table, asking the kernel to resolve it if needed; a
// server replies to the source of the last datagram it accepted, through
// the MAC and VLAN that datagram came with. The payload limit is also
// bounded by the interface MTU.
func WithXDP(iface string, queue int, mode xdp.Mode) Option {
	return func(c *endpointConfig) {
		c.xdp = xdpSettings{set: true, iface: iface, queue: queue, mode: mode}
	}
}

// xdpErrors checks the options that concern TransportXDP.
func (c *endpointConfig) xdpErrors() []error {
	if c.transport != TransportXDP {
		if c.xdp.set {
			return []error{fmt.Errorf("WithXDP applies to transport xdp, not %v", c.transport)}
		}
		return nil
	}
	var errs []error
	if !c.xdp.set || c.xdp.iface == "" {
		errs = append(errs, errors.New("transport xdp needs WithXDP(interface, queue, mode)"))
	}
	if c.xdp.queue < 0 {
		errs = append(errs, fmt.Errorf("xdp queue %d is negative", c.xdp.queue))
	}
	if c.xdp.mode > xdp.ModeGenericCopy {
		errs = append(errs, fmt.Errorf("unknown xdp mode %v", c.xdp.mode))
	}
	if c.queues != 1 {
		errs = append(errs, errors.New("WithReusePort does not apply to transport xdp (one AF_XDP socket serves one queue)"))
	}
	if c.busyPoll != 0 {
		errs = append(errs, errors.New("WithBusyPoll does not apply to transport xdp"))
	}
	if c.poolSize < xdpMinPool {
		errs = append(errs, fmt.Errorf("pool size %d is below %d UMEM buffers, the least transport xdp needs", c.poolSize, xdpMinPool))
	}
	return errs
}

// xdpRings are the ring sizes for a pool of a given number of chunks.
type xdpRings struct {
	posted int // chunks kept on the fill ring (or in the kernel's hands)
	fill   int // twice posted: the kernel publishes its progress lazily
	rx     int // every posted chunk fits, so the RX ring cannot overflow
	tx     int
	comp   int // twice tx: completions pile up between two reaps
}

// xdpRingSizes gives a quarter of the pool (a power of two, 64..2048) to
// the fill ring and leaves the rest to frames held by slaves and to
// transmission.
func xdpRingSizes(pool int) xdpRings {
	posted := 64
	for posted*2 <= min(pool/4, xdpMaxPosted) {
		posted *= 2
	}
	tx := min(posted, xdpMaxTxRing)
	return xdpRings{posted: posted, fill: 2 * posted, rx: posted, tx: tx, comp: 2 * tx}
}

// ParseXDPMode maps a mode name as xdp.Mode.String writes it ("auto",
// "native-zerocopy", "native-copy", "generic-copy"; case is ignored) to
// the mode, for command lines that offer WithXDP's mode.
func ParseXDPMode(s string) (xdp.Mode, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for m := xdp.ModeAuto; m <= xdp.ModeGenericCopy; m++ {
		if m.String() == name {
			return m, nil
		}
	}
	return 0, fmt.Errorf("udp: unknown xdp mode %q (want auto, native-zerocopy, native-copy or generic-copy)", s)
}
