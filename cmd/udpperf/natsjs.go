package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"udpstream.dev/bench/natsrun"
	"udpstream.dev/engine/natsjs"
	"udpstream.dev/engine/natsjs/embedded"
)

// natsFlags are udpperf server's --publish, --publish-wait,
// --publish-pending and --nats-embedded.
type natsFlags struct {
	publish  *string
	wait     *time.Duration
	pending  *int
	embedded *string
}

func addPublishFlags(fs *flag.FlagSet) natsFlags {
	return natsFlags{
		publish: fs.String("publish", "", "also publish every received frame to NATS JetStream: nats://HOST:PORT/PREFIX (subjects PREFIX.<channel>, stream PREFIX with dots as _, created if missing)"),
		wait:    durationFlag(fs, "publish-wait", natsjs.DefaultMaxWait, "with --publish: how long a frame waits for room under the bound of unacknowledged bytes before it is dropped and counted"),
		pending: fs.Int("publish-pending", natsjs.DefaultMaxPendingBytes, "with --publish: the bound of unacknowledged message bytes, at least a 64 KiB batch; "+
			"more rides out longer broker stalls before the receive thread waits"),
		embedded: embeddedFlag(fs),
	}
}

func embeddedFlag(fs *flag.FlagSet) *string {
	return fs.String("nats-embedded", "", "start a NATS server with JetStream in this process, on HOST:PORT of the nats:// URL, storing in this directory (a one-machine trial)")
}

// natsTap is the publisher of udpperf server --publish, and the
// in-process broker if --nats-embedded started one.
type natsTap struct {
	pub    *natsjs.Publisher
	broker *embedded.Server
}

// open checks the flags and, with --publish, connects the publisher
// (after starting the embedded broker if asked); nil without --publish.
func (n natsFlags) open(stderr io.Writer) (*natsTap, error) {
	if *n.publish == "" {
		if *n.embedded != "" {
			return nil, usageError{"--nats-embedded needs --publish"}
		}
		return nil, nil
	}
	c, err := natsTarget("--publish", *n.publish)
	if err != nil {
		return nil, err
	}
	if *n.wait < 0 {
		return nil, usageError{"--publish-wait must not be negative"}
	}
	if *n.pending < natsjs.DefaultBatchBytes {
		return nil, usageError{fmt.Sprintf("--publish-pending %d: at least a batch, %d bytes", *n.pending, natsjs.DefaultBatchBytes)}
	}
	t := &natsTap{}
	if t.broker, err = startEmbedded(*n.embedded, c.URL); err != nil {
		return nil, err
	}
	c.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	t.pub, err = natsjs.NewPublisher(natsjs.PublisherOptions{Conn: c, MaxWait: *n.wait, MaxPendingBytes: *n.pending})
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// close closes the publisher (sending what is batched and waiting for
// the acks) and then the broker; safe on nil and more than once.
func (t *natsTap) close() {
	if t == nil {
		return
	}
	if t.pub != nil {
		t.pub.Close()
	}
	if t.broker != nil {
		t.broker.Shutdown()
		t.broker = nil
	}
}

// natsTarget parses a nats://HOST:PORT/PREFIX flag or argument.
func natsTarget(what, s string) (natsjs.Conn, error) {
	c, err := natsjs.ParseTarget(s)
	if err != nil {
		return c, usageError{fmt.Sprintf("%s %q: want nats://HOST:PORT/PREFIX (%v)", what, s, errors.Unwrap(err))}
	}
	return c, nil
}

// startEmbedded starts the in-process broker of --nats-embedded DIR on the
// host and port of url; nil when dir is empty.
func startEmbedded(dir, url string) (*embedded.Server, error) {
	if dir == "" {
		return nil, nil
	}
	host, portStr, err := net.SplitHostPort(strings.TrimPrefix(url, "nats://"))
	if err != nil {
		return nil, usageError{fmt.Sprintf("--nats-embedded: %v", err)}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, usageError{fmt.Sprintf("--nats-embedded: port %q outside 1..65535", portStr)}
	}
	return embedded.Start(embedded.Options{Dir: dir, Host: host, Port: port})
}

// finish closes the publisher and prints its counters; it returns them
// for the JSON report (nil without --publish).
func (t *natsTap) finish(p *printer) *natsjs.PublisherStats {
	if t == nil {
		return nil
	}
	t.pub.Close()
	s := t.pub.Stats()
	p.printf("%s\n", natsrun.FormatPublish(s))
	return &s
}
