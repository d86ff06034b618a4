package natsjs

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"udpstream.dev/engine"
)

// Defaults of the options.
const (
	DefaultBatchBytes      = 64 << 10
	DefaultMaxPendingBytes = 16 << 20
	DefaultLinger          = 5 * time.Millisecond
	DefaultMaxWait         = time.Second
	DefaultAckTimeout      = 2 * time.Second
	DefaultRetryFor        = 30 * time.Second
	DefaultConnectTimeout  = 5 * time.Second
	DefaultCloseTimeout    = 5 * time.Second
	DefaultDuplicates      = 2 * time.Minute
	DefaultPullBytes       = 4 << 20
	// headerReserve is kept free of a message's body for its headers
	// (Nats-Msg-Id): the server's max_payload counts them.
	headerReserve = 256
	retryPause    = 100 * time.Millisecond
	// ackWait is how long the server waits for a reader's ack before it
	// delivers the message again (a reader that died mid-message).
	ackWait = 10 * time.Second
)

// Conn says where the stream is: the options both ends share.
type Conn struct {
	// URL is the server, nats://host:port (a comma-separated list is
	// tried in turn).
	URL string
	// Prefix is the subject prefix: frames of channel c go to subject
	// Prefix.c. Tokens of letters, digits, '-' and '_' joined by dots.
	Prefix string
	// Stream is the JetStream stream's name; empty: the prefix with dots
	// turned into '_'. It is created (file storage, subjects Prefix.>) if
	// missing.
	Stream string
	// ConnectTimeout bounds the first connection and each JetStream API
	// request (stream lookup and creation).
	ConnectTimeout time.Duration
	// Logger receives connection changes; nil: slog.Default().
	Logger *slog.Logger
}

// PublisherOptions configures a Publisher. Zero fields take the defaults.
type PublisherOptions struct {
	Conn
	// BatchBytes is the size a message is filled to before it is sent,
	// headers of the format included. A frame larger than a batch goes in
	// a message of its own.
	BatchBytes int
	// MaxPendingBytes bounds the bytes of messages sealed and not yet
	// acknowledged by the server.
	MaxPendingBytes int
	// Linger is how long a partly filled batch waits for more frames.
	Linger time.Duration
	// MaxWait is how long AcceptFrame blocks for room under
	// MaxPendingBytes before it drops the frame (see Publisher).
	MaxWait time.Duration
	// AckTimeout is how long one publish attempt waits for its ack.
	AckTimeout time.Duration
	// RetryFor is how long a message is sent again before it is given up
	// and its frames counted as not acknowledged.
	RetryFor time.Duration
	// CloseTimeout bounds how long Close waits for outstanding acks.
	CloseTimeout time.Duration
}

// ReaderOptions configures a Reader. Zero fields take the defaults.
type ReaderOptions struct {
	Conn
	// Durable names a durable consumer: it keeps its position on the
	// server, and a Reader made later with the same name resumes there
	// (the start options apply only when it is created). Empty: an
	// ephemeral consumer.
	Durable string
	// StartSeq, if not 0, starts at that stream sequence; else StartTime,
	// if not zero, at the first message stored at or after it; else at
	// the first message in the stream.
	StartSeq  uint64
	StartTime time.Time
	// PullBytes bounds the bytes of one pull request.
	PullBytes int
	// Pool makes the frames; nil: a pool of exact-size buffers.
	Pool *engine.Pool
}

func (c *Conn) check() error {
	if c.URL == "" {
		return fmt.Errorf("%w: no server URL", ErrBadURL)
	}
	for _, u := range strings.Split(c.URL, ",") {
		if _, _, err := splitURL(strings.TrimSpace(u)); err != nil {
			return err
		}
	}
	if err := checkPrefix(c.Prefix); err != nil {
		return err
	}
	if c.Stream == "" {
		c.Stream = strings.ReplaceAll(c.Prefix, ".", "_")
	}
	if err := checkName("stream", c.Stream); err != nil {
		return err
	}
	if c.ConnectTimeout < 0 {
		return fmt.Errorf("%w: connect timeout %v", ErrOptions, c.ConnectTimeout)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

func (o *PublisherOptions) check() error {
	if err := o.Conn.check(); err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		p    *time.Duration
		def  time.Duration
	}{
		{"linger", &o.Linger, DefaultLinger}, {"max wait", &o.MaxWait, DefaultMaxWait},
		{"ack timeout", &o.AckTimeout, DefaultAckTimeout}, {"retry for", &o.RetryFor, DefaultRetryFor},
		{"close timeout", &o.CloseTimeout, DefaultCloseTimeout},
	} {
		if *v.p < 0 {
			return fmt.Errorf("%w: %s %v is negative", ErrOptions, v.name, *v.p)
		}
		if *v.p == 0 {
			*v.p = v.def
		}
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.MaxPendingBytes == 0 {
		o.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if o.BatchBytes < MsgHeaderLen+RecordHeaderLen || o.MaxPendingBytes < o.BatchBytes {
		return fmt.Errorf("%w: batch %d bytes (at least %d), max pending %d bytes (at least a batch)",
			ErrOptions, o.BatchBytes, MsgHeaderLen+RecordHeaderLen, o.MaxPendingBytes)
	}
	return nil
}

func (o *ReaderOptions) check() error {
	if err := o.Conn.check(); err != nil {
		return err
	}
	if err := checkName("durable", o.Durable); err != nil {
		return err
	}
	if o.PullBytes < 0 {
		return fmt.Errorf("%w: pull bytes %d", ErrOptions, o.PullBytes)
	}
	if o.PullBytes == 0 {
		o.PullBytes = DefaultPullBytes
	}
	if o.Pool == nil {
		o.Pool = engine.NewPool()
	}
	return nil
}

// checkName refuses a stream or durable name with a character JetStream
// forbids in one: '.', ' ', '*', '>', a tab or line break, '/', '\'.
func checkName(what, name string) error {
	if strings.ContainsAny(name, ". *>\t\r\n/\\") {
		return fmt.Errorf("%w: %s name %q", ErrOptions, what, name)
	}
	return nil
}

// checkPrefix accepts dot-separated tokens of letters, digits, '-' and '_'.
func checkPrefix(p string) error {
	if p == "" {
		return fmt.Errorf("%w: empty subject prefix", ErrOptions)
	}
	for _, tok := range strings.Split(p, ".") {
		if tok == "" {
			return fmt.Errorf("%w: subject prefix %q has an empty token", ErrOptions, p)
		}
		for _, r := range tok {
			ok := r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
			if !ok {
				return fmt.Errorf("%w: subject prefix %q: character %q", ErrOptions, p, r)
			}
		}
	}
	return nil
}

// splitURL checks one server URL, nats://host:port, and returns it
// without a path, and the path's prefix (empty if none).
func splitURL(s string) (server, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
	}
	if u.Scheme != "nats" && u.Scheme != "tls" {
		return "", "", fmt.Errorf("%w: %q: scheme %q, want nats://host:port", ErrBadURL, s, u.Scheme)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return "", "", fmt.Errorf("%w: %q: want nats://host:port", ErrBadURL, s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%w: %q: query or fragment", ErrBadURL, s)
	}
	server = u.Scheme + "://" + u.Host
	if u.User != nil {
		server = u.Scheme + "://" + u.User.String() + "@" + u.Host
	}
	return server, strings.Trim(u.Path, "/"), nil
}

// ParseTarget splits nats://HOST:PORT/PREFIX (the form the command line
// takes) into a Conn's URL and Prefix.
func ParseTarget(s string) (Conn, error) {
	server, prefix, err := splitURL(s)
	if err != nil {
		return Conn{}, err
	}
	if err := checkPrefix(prefix); err != nil {
		return Conn{}, fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
	}
	return Conn{URL: server, Prefix: prefix}, nil
}
