package udp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Option configures a Server or Client at construction.
type Option func(*endpointConfig)

// endpointConfig collects the options; validate checks them all at once so
// the constructor reports every mistake in one error.
type endpointConfig struct {
	transport  Transport
	batch      int
	bind       netip.Addr
	queues     int
	lockThread bool
	lowLatency bool          // WithLowLatency (lowlatency.go)
	spin       time.Duration // WithLowLatencySpin
	busyPoll   int
	rxQueue    int
	txQueue    int
	allowed    []netip.Addr
	allowSet   bool
	poolSize   int
	logger     *slog.Logger
	xdp        xdpSettings // WithXDP (xdp_options.go)
}

func defaultConfig() endpointConfig {
	return endpointConfig{
		transport: TransportMmsg,
		batch:     DefaultBatch,
		queues:    1,
		poolSize:  DefaultPoolSize,
	}
}

// WithTransport selects the transport (default TransportMmsg).
func WithTransport(t Transport) Option {
	return func(c *endpointConfig) { c.transport = t }
}

// WithBatch sets the messages moved per system call, 1..1024 (default 64).
// GRO receives use at most 64 buffers of 64 KiB per call whatever the batch.
func WithBatch(n int) Option {
	return func(c *endpointConfig) { c.batch = n }
}

// WithBindAddress binds the socket to a. The default is the dual-stack
// wildcard (::, reaching IPv4 and IPv6 peers), or 0.0.0.0 where the host
// has no IPv6.
func WithBindAddress(a netip.Addr) Option {
	return func(c *endpointConfig) { c.bind = a }
}

// WithReusePort opens queues sockets on the same port with SO_REUSEPORT, so
// the kernel spreads senders over them, each served by its own receive
// goroutine. Servers only. Transmission uses the first socket.
func WithReusePort(queues int) Option {
	return func(c *endpointConfig) { c.queues = queues }
}

// WithLockOSThread locks every receive goroutine to its own OS thread, for
// callers that pin threads to cores.
func WithLockOSThread() Option {
	return func(c *endpointConfig) { c.lockThread = true }
}

// WithBusyPoll sets SO_BUSY_POLL to usec microseconds on every socket: the
// kernel spins on the device queue before sleeping. Raising it above the
// system default needs CAP_NET_ADMIN.
func WithBusyPoll(usec int) Option {
	return func(c *endpointConfig) { c.busyPoll = usec }
}

// WithRxQueue decouples delivery from the socket: each receive goroutine
// pushes frames into a ring of depth slots (rounded up to a power of two)
// and a consumer goroutine sends them to the slaves. When the ring is full
// the frame is dropped and counted in Stats.RingDrops. 0 (the default)
// delivers inline on the receive goroutine.
func WithRxQueue(depth int) Option {
	return func(c *endpointConfig) { c.rxQueue = depth }
}

// WithTxQueue makes AcceptFrame retain the frame and queue it (depth slots,
// rounded up to a power of two) for a transmit goroutine that sends the
// queue in batches (sendmmsg, GSO with TransportGRO). A full queue makes
// AcceptFrame wait, as a full socket would. Send and SendBatch still send
// synchronously. 0 (the default) transmits inside AcceptFrame.
func WithTxQueue(depth int) Option {
	return func(c *endpointConfig) { c.txQueue = depth }
}

// WithAllowedPeers accepts datagrams only from these addresses (any port);
// others are dropped, counted in Stats.RxRejected, and never become the
// reply address. IPv4-mapped IPv6 addresses match their IPv4 form and zones
// are ignored.
func WithAllowedPeers(addrs ...netip.Addr) Option {
	return func(c *endpointConfig) {
		c.allowSet = true
		c.allowed = append(c.allowed, addrs...)
	}
}

// WithPoolSize sets how many MaxPayload receive buffers the endpoint may
// hold at once (default 10000, as Rogue). Frames kept by slaves count
// against it; when it is exhausted datagrams are dropped and counted in
// Stats.RxPoolExhausted. With TransportGRO the limit counts 64 KiB receive
// buffers instead: frames cut from one buffer share it, and a frame pins
// its buffer until released, so slaves that hold many frames of
// uncoalesced traffic hold more memory than with the other transports.
func WithPoolSize(n int) Option {
	return func(c *endpointConfig) { c.poolSize = n }
}

// WithLogger sends the endpoint's warnings to l, each kind at most once a
// second, and each event once. Without it the endpoint logs nothing (not
// even to slog.Default): what it would warn about is counted in Stats or
// returned to the caller. SetDebug's dumps also go to l when it is given.
func WithLogger(l *slog.Logger) Option {
	return func(c *endpointConfig) { c.logger = l }
}

// maxQueueDepth bounds the rings so a typo cannot reserve gigabytes.
const maxQueueDepth = 1 << 24

// maxQueues bounds WithReusePort.
const maxQueues = 256

// validate reports every invalid setting; client is true for NewClient.
func (c *endpointConfig) validate(client bool) error {
	var errs []error
	switch c.transport {
	case TransportMmsg, TransportNaive, TransportGRO, TransportXDP:
	default:
		errs = append(errs, fmt.Errorf("unknown transport %v", c.transport))
	}
	errs = append(errs, c.xdpErrors()...)
	errs = append(errs, c.lowLatencyErrors()...)
	if c.batch < 1 || c.batch > MaxBatch {
		errs = append(errs, fmt.Errorf("batch size %d outside 1..%d", c.batch, MaxBatch))
	}
	if c.queues < 1 || c.queues > maxQueues {
		errs = append(errs, fmt.Errorf("reuse-port queue count %d outside 1..%d", c.queues, maxQueues))
	}
	if client && c.queues != 1 {
		errs = append(errs, fmt.Errorf("reuse-port queues (%d) apply to servers only", c.queues))
	}
	if c.busyPoll < 0 {
		errs = append(errs, fmt.Errorf("busy-poll time %d us is negative", c.busyPoll))
	}
	if c.rxQueue < 0 || c.rxQueue > maxQueueDepth {
		errs = append(errs, fmt.Errorf("receive queue depth %d outside 0..%d", c.rxQueue, maxQueueDepth))
	}
	if c.txQueue < 0 || c.txQueue > maxQueueDepth {
		errs = append(errs, fmt.Errorf("transmit queue depth %d outside 0..%d", c.txQueue, maxQueueDepth))
	}
	if c.bind.IsValid() && c.bind.Zone() != "" && !c.bind.Is6() {
		errs = append(errs, fmt.Errorf("bind address %v has a zone but is not IPv6", c.bind))
	}
	if c.allowSet && len(c.allowed) == 0 {
		errs = append(errs, errors.New("WithAllowedPeers needs at least one address"))
	}
	for _, a := range c.allowed {
		if !a.IsValid() {
			errs = append(errs, errors.New("WithAllowedPeers: invalid (zero) address"))
			break
		}
	}
	if least := 2 * c.batch * c.queues; c.poolSize < least {
		errs = append(errs, fmt.Errorf("pool size %d is below %d (two batches of %d per receive queue)", c.poolSize, least, c.batch))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("udp: invalid options: %w", errors.Join(errs...))
}

// normalizePeer strips what must not distinguish two peers: IPv4 seen as
// IPv4-mapped IPv6, and zones.
func normalizePeer(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}
