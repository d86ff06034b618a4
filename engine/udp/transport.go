package udp

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"udpstream.dev/engine"
)

// transport is the data path under an endpoint: the sockets (naive, mmsg,
// gro; socketPath) or an AF_XDP socket (xdpPath). The endpoint keeps what
// every path shares: the master, the peer and allow-list, the options, the
// transmit checks and counters, the transmit queue and the shutdown order.
// A transport never sees the endpoint: it is opened with the endpoint's
// rxRules and txRules, the two narrow values it judges, delivers and counts
// with. The endpoint opens it, starts it, and stops it in Close: shutdown,
// then (once the receive goroutines are gone) finish.
type transport interface {
	// start launches the receive goroutines (and the receive queue
	// consumers of WithRxQueue), each counted in wg; they judge every
	// datagram with rxRules and hand the frames to rxRules.accept.
	start(wg *sync.WaitGroup)
	// localAddr is the bound address, IPv4-mapped addresses unmapped.
	localAddr() netip.AddrPort
	// setRxBufferCount sizes the receive buffering for n MTUs.
	setRxBufferCount(n int) bool
	// send transmits one frame to dest (the zero address for a client);
	// it counts what it refuses or fails.
	send(f engine.Frame, dest netip.AddrPort) error
	// transmit sends fs to dest, counting every frame that does not go
	// out; with mark it also sets their error code.
	transmit(fs []engine.Frame, dest netip.AddrPort, mark bool) txResult
	// addStats returns st with the path's own counters added (st is
	// passed by value so that Stats does not escape to the heap).
	addStats(st Stats) Stats
	// shutdown wakes and ends the receive goroutines; finish runs once
	// they have returned (or when they never started), and frees what
	// they used.
	shutdown() error
	finish() error
}

// rxRules is what a transport's receive side gets from its endpoint: the
// judgement of a datagram (verdict), the peer it notes (notePeer), the
// delivery of a frame (accept), the publishing and logging of a batch's
// counts (publish), the handling of receive errors (rxFailed), and the
// closed flag. The endpoint fills it before it opens the transport and
// does not change it afterwards, except for the peer and closed flag.
type rxRules struct {
	master     *engine.Master
	log        *rateLog
	allow      *allowList
	peer       peerTracker
	closed     atomic.Bool // Close has begun
	client     bool
	remote     netip.AddrPort // client: the server
	maxPayload int
	lockThread bool // WithLockOSThread: pin receive goroutines
}

// txRules is what a transport's transmit side shares with its endpoint:
// the lock that admits one transmitter at a time, the transmit counters,
// the checks every frame passes (checkFrame), the accounting of failures
// (txFailed) and the transmit wait with Close's limit on it (deadline).
type txRules struct {
	txMu       sync.Mutex // one transmitter at a time
	tx         txCounters
	timeout    atomic.Int64 // transmit wait in nanoseconds
	closeBy    atomic.Int64 // unix ns: waits end by then once Close started
	log        *rateLog
	maxPayload int
}
