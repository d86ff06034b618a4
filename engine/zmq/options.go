package zmq

import (
	"fmt"
	"log/slog"
	"time"

	"udpstream.dev/engine"
)

// Defaults of the options.
const (
	// DefaultSendTimeout is how long Send waits for a peer, and for a peer
	// to take a frame, before it drops the frame.
	DefaultSendTimeout = time.Second
	// DefaultReconnectInterval is the client's pause between connection
	// attempts: libzmq's default reconnect interval.
	DefaultReconnectInterval = 100 * time.Millisecond
	// DefaultMaxPayload bounds the payload of a received frame.
	DefaultMaxPayload = 64 << 20
	// DefaultBufferSize and DefaultPoolSize shape the receive pool made
	// when WithPool is not given: buffers of a jumbo datagram and a margin,
	// so a frame of up to 9216 bytes is one buffer, recycled.
	DefaultBufferSize = 9216
	DefaultPoolSize   = 1024
	// handshakeTimeout bounds the greeting and READY exchange.
	handshakeTimeout = 5 * time.Second
	// stallTimeout bounds the wait for the rest of a message that was
	// partly written when the send timeout is 0.
	stallTimeout = time.Second
)

// Option configures a bridge at construction.
type Option func(*config)

type config struct {
	sendTimeout time.Duration
	reconnect   time.Duration
	maxPayload  int
	pool        *engine.Pool
	logger      *slog.Logger
}

func defaultConfig() config {
	return config{
		sendTimeout: DefaultSendTimeout,
		reconnect:   DefaultReconnectInterval,
		maxPayload:  DefaultMaxPayload,
	}
}

// WithSendTimeout sets what Send does when no peer is connected or the
// peer's socket is full. d > 0: wait up to d, then drop the frame. d == 0:
// drop at once (a message already partly written is still completed, or
// its connection closed after a second). d < 0: wait until it can be sent
// or the bridge is closed, as Rogue does. Every drop is counted in Stats.
func WithSendTimeout(d time.Duration) Option {
	return func(c *config) { c.sendTimeout = d }
}

// WithReconnectInterval sets the client's pause between connection
// attempts (default 100 ms). Clients only.
func WithReconnectInterval(d time.Duration) Option {
	return func(c *config) { c.reconnect = d }
}

// WithMaxPayload bounds the payload of received frames (default 64 MiB);
// longer messages are skipped and counted in Stats.RxOversize.
func WithMaxPayload(n int) Option {
	return func(c *config) { c.maxPayload = n }
}

// WithPool makes received frames come from p instead of the bridge's own
// pool of DefaultPoolSize buffers of DefaultBufferSize bytes.
func WithPool(p *engine.Pool) Option {
	return func(c *config) { c.pool = p }
}

// WithLogger sends the bridge's warnings (malformed messages, failed
// handshakes, lost peers) to l, at most one per kind per second. Without
// it, nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

func (c *config) validate() error {
	if c.reconnect <= 0 {
		return fmt.Errorf("zmq: reconnect interval %v, want > 0", c.reconnect)
	}
	if c.maxPayload < 0 {
		return fmt.Errorf("zmq: max payload %d, want >= 0", c.maxPayload)
	}
	if c.pool == nil {
		p, err := engine.NewFixedPool(DefaultBufferSize, DefaultPoolSize, 0)
		if err != nil {
			return err
		}
		c.pool = p
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
