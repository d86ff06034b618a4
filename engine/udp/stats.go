package udp

import (
	"sync/atomic"

	"udpstream.dev/mmsg"
)

// Stats is a snapshot of an endpoint's counters; each counter's doc names
// its unit. Every frame not transmitted is counted in exactly one of the Tx
// drop or error counters. Every datagram that reached a socket is counted
// once, in RxFrames (which includes RingDrops), RxOversize, RxRejected,
// RxPoolExhausted or, with AF_XDP, XDP.RxMalformed and XDP.DroppedPackets, or
// it is behind KernelDroppedBuffers, which counts socket buffers. Without
// GRO a socket buffer is one datagram, so the datagrams sent are exactly
// the sum of those counters; with GRO a buffer holds a run of one or more,
// and KernelDroppedDatagrams bounds the datagrams behind it.
type Stats struct {
	// RxFrames and RxBytes count datagrams accepted from the socket and
	// turned into frames (those later dropped by a full receive queue
	// included; see RingDrops).
	RxFrames, RxBytes uint64
	// TxFrames and TxBytes count frames the kernel accepted for
	// transmission.
	TxFrames, TxBytes uint64

	// KernelDroppedBuffers counts socket buffers (the kernel's skbs) the
	// kernel dropped on the sockets, mostly for lack of receive-buffer
	// room: the counter SO_RXQ_OVFL reports, read from the kernel
	// (SO_MEMINFO) when Stats is called. Without GRO each held one
	// datagram. With GRO each held one or more: a run of datagrams one
	// sender's GSO send or the receiving NIC's GRO merged, up to
	// mmsg.MaxGSOSegmentsLimit (128) of them; RxGROBuffers,
	// RxGRODatagrams and RxGROMaxDatagrams describe the runs received.
	KernelDroppedBuffers uint64
	// RxBufferBytes is the receive buffer the kernel granted, summed over
	// the sockets, as the kernel charges it (twice the payload room it
	// promises, the rest covering its bookkeeping).
	RxBufferBytes uint64
	// RxGROBuffers counts the receives of the GRO path (one socket buffer
	// each), RxGRODatagrams the datagrams they held, and
	// RxGROMaxDatagrams the most datagrams one of them held. Their ratio
	// estimates how many datagrams a dropped socket buffer held.
	RxGROBuffers, RxGRODatagrams, RxGROMaxDatagrams uint64
	// RingDrops counts frames dropped because the receive queue
	// (WithRxQueue) was full.
	RingDrops uint64
	// RxOversize counts datagrams longer than MaxPayload (truncated by the
	// kernel, MSG_TRUNC), dropped.
	RxOversize uint64
	// RxRejected counts datagrams from peers not in WithAllowedPeers.
	RxRejected uint64
	// RxPoolExhausted counts datagrams dropped because every receive
	// buffer was held by slaves (WithPoolSize).
	RxPoolExhausted uint64
	// RxErrors counts failed receive calls other than ConnRefused.
	RxErrors uint64

	// TxOversize counts frames whose payload exceeds MaxPayload: never
	// split, never truncated, not sent.
	TxOversize uint64
	// TxErrored counts frames not sent because their Error() was set.
	TxErrored uint64
	// TxNoPeer counts frames a Server could not send because it had not
	// heard from anyone yet.
	TxNoPeer uint64
	// TxErrors counts frames that failed for any other reason (released
	// frame, closed endpoint, kernel error).
	TxErrors uint64
	// TxTimeouts counts frames not sent because the socket buffer stayed
	// full for the whole transmit timeout.
	TxTimeouts uint64
	// ConnRefused counts ICMP port-unreachable reports (ECONNREFUSED) on
	// a connected socket; the endpoint keeps going.
	ConnRefused uint64

	// GRO and GSO report whether receive and send offload are in use.
	GRO, GSO bool
	// GSOFallback reports that the kernel refused GSO and the endpoint
	// now sends datagrams one by one.
	GSOFallback bool

	// Transport and Batch echo the configuration.
	Transport Transport
	Batch     int

	// XDP holds what only TransportXDP counts; it is zero otherwise.
	XDP XDPStats
}

// XDPStats are the counters and state only an AF_XDP endpoint has.
type XDPStats struct {
	// RxMalformed counts frames the AF_XDP socket received that are not
	// well-formed UDP datagrams (truncated, inconsistent lengths, bad IPv4
	// header or UDP checksum), dropped.
	RxMalformed uint64
	// RxChecksumOffloaded counts datagrams accepted whose UDP checksum
	// field held only the pseudo-header sum a sender leaves to checksum
	// offload (as a veth peer sends them), and the about one in 65536
	// others whose real checksum has that value: their payload was not
	// verified (the IPv4 header checksum and the link's frame check were).
	RxChecksumOffloaded uint64
	// Mode is the mode the socket was bound in ("native-zerocopy",
	// "native-copy", "generic-copy"); MultiBuffer reports that packets
	// larger than a UMEM chunk span several descriptors.
	Mode        string
	MultiBuffer bool
	// RxDropped, RxInvalid, RingFull, FillEmpty and TxInvalid are the
	// kernel's XDP_STATISTICS. RxDropped counts packets the socket dropped
	// for want of a buffer (the fill ring was empty, or held too few for a
	// multi-buffer packet) or as too large; RingFull packets dropped on a
	// full RX ring; RxInvalid invalid fill descriptors; TxInvalid rejected
	// TX descriptors. FillEmpty counts the times the kernel found the fill
	// ring empty, not packets: in copy mode each is a drop that RxDropped
	// also counts, and in zero-copy mode the driver's refills count too,
	// while the packets its NIC then drops appear only in the driver's
	// statistics. Sum drops with DroppedPackets, never with FillEmpty. The
	// fill ring runs empty when the receive goroutine falls behind (every
	// posted buffer waits in the RX ring) or when slaves hold the whole
	// pool; RxPoolExhausted stays 0 with AF_XDP.
	RxDropped, RxInvalid, RingFull, FillEmpty, TxInvalid uint64
	// TxCopies counts frames copied into the UMEM to be sent: frames of
	// another pool, or whose memory was still being sent.
	TxCopies uint64
}

// cacheLinePad keeps counters written by different goroutines on
// separate cache lines.
type cacheLinePad [128]byte

// rxCounters are written by one receive goroutine (once per batch) and read
// by Stats.
type rxCounters struct {
	frames, bytes, oversize, rejected, exhausted, ringDrops, errors, refused atomic.Uint64
	groRuns                                                                  atomic.Uint64 // GRO receives holding more than one datagram
	groBuffers, groDatagrams, groMax                                         atomic.Uint64
	_                                                                        cacheLinePad
}

// rxTally accumulates one batch's counts on the receive goroutine's stack;
// flush publishes them with one atomic add per non-zero counter.
type rxTally struct {
	frames, bytes, oversize, rejected, exhausted uint64
	groBuffers, groDatagrams, groMax             uint64
}

// count adds datagrams of one verdict; bytes count only for accepted ones.
func (t *rxTally) count(v rxVerdict, datagrams, bytes int) {
	switch v {
	case rxAccepted:
		t.frames += uint64(datagrams)
		t.bytes += uint64(bytes)
	case rxExhausted:
		t.exhausted += uint64(datagrams)
	case rxOversize:
		t.oversize += uint64(datagrams)
	case rxRejected:
		t.rejected += uint64(datagrams)
	}
}

func (t *rxTally) flush(c *rxCounters) {
	if t.frames != 0 {
		c.frames.Add(t.frames)
		c.bytes.Add(t.bytes)
	}
	if t.oversize != 0 {
		c.oversize.Add(t.oversize)
	}
	if t.rejected != 0 {
		c.rejected.Add(t.rejected)
	}
	if t.exhausted != 0 {
		c.exhausted.Add(t.exhausted)
	}
	if t.groBuffers != 0 {
		c.groBuffers.Add(t.groBuffers)
		c.groDatagrams.Add(t.groDatagrams)
		// Only this goroutine raises the maximum; Stats only reads it.
		if t.groMax > c.groMax.Load() {
			c.groMax.Store(t.groMax)
		}
	}
	*t = rxTally{}
}

// txCounters are shared by every transmitting goroutine.
type txCounters struct {
	frames, bytes, oversize, errored, noPeer, errors, timeouts, refused atomic.Uint64
	gsoMsgs                                                             atomic.Uint64 // messages sent as one GSO buffer
}

func (s *Stats) addRx(c *rxCounters) {
	s.RxFrames += c.frames.Load()
	s.RxBytes += c.bytes.Load()
	s.RxOversize += c.oversize.Load()
	s.RxRejected += c.rejected.Load()
	s.RxPoolExhausted += c.exhausted.Load()
	s.RingDrops += c.ringDrops.Load()
	s.RxErrors += c.errors.Load()
	s.ConnRefused += c.refused.Load()
	s.RxGROBuffers += c.groBuffers.Load()
	s.RxGRODatagrams += c.groDatagrams.Load()
	s.RxGROMaxDatagrams = max(s.RxGROMaxDatagrams, c.groMax.Load())
}

// KernelDroppedDatagrams bounds the datagrams behind KernelDroppedBuffers:
// at least one per socket buffer, at most mmsg.MaxGSOSegmentsLimit per
// buffer once GRO is on (a run is never longer), exactly one without it.
func (s Stats) KernelDroppedDatagrams() (least, most uint64) {
	if !s.GRO {
		return s.KernelDroppedBuffers, s.KernelDroppedBuffers
	}
	return s.KernelDroppedBuffers, s.KernelDroppedBuffers * mmsg.MaxGSOSegmentsLimit
}

// DroppedPackets is the packets for the server's port the AF_XDP socket
// dropped, each counted once: RxDropped plus RingFull (net/xdp counts a
// drop for an empty fill ring in both RxDropped and FillEmpty, so
// FillEmpty is left out).
func (s XDPStats) DroppedPackets() uint64 { return s.RxDropped + s.RingFull }

func (s *Stats) addTx(c *txCounters) {
	s.TxFrames += c.frames.Load()
	s.TxBytes += c.bytes.Load()
	s.TxOversize += c.oversize.Load()
	s.TxErrored += c.errored.Load()
	s.TxNoPeer += c.noPeer.Load()
	s.TxErrors += c.errors.Load()
	s.TxTimeouts += c.timeouts.Load()
	s.ConnRefused += c.refused.Load()
}
