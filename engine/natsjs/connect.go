package natsjs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// reconnectWait is the client's pause between reconnection attempts.
const reconnectWait = 250 * time.Millisecond

// dial connects to c's server with the client's reconnection on (for
// ever, every reconnectWait) and returns the JetStream context.
// onDisconnect, if not nil, is called (on the client's callback
// goroutine) each time the connection is lost; more are further client
// options.
func dial(c *Conn, name string, onDisconnect func(), more ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	urls := make([]string, 0, 1)
	for _, u := range strings.Split(c.URL, ",") {
		s, _, _ := splitURL(strings.TrimSpace(u)) // checked by Conn.check
		urls = append(urls, s)
	}
	log := c.Logger
	opts := append([]nats.Option{
		nats.Name(name),
		nats.Timeout(c.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if onDisconnect != nil {
				onDisconnect()
			}
			if err != nil { // nil: closed on purpose
				log.Warn("natsjs: disconnected", "name", name, "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("natsjs: reconnected", "name", name, "server", nc.ConnectedUrlRedacted())
		}),
	}, more...)
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrConnect, c.URL, err)
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(c.ConnectTimeout))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrConnect, c.URL, err)
	}
	return nc, js, nil
}

// ensureStream finds c's stream, or creates it (file storage, subjects
// Prefix.>, a de-duplication window of DefaultDuplicates).
func ensureStream(js jetstream.JetStream, c *Conn) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.ConnectTimeout)
	defer cancel()
	s, err := js.Stream(ctx, c.Stream)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("%w: looking up %q: %w", ErrStream, c.Stream, err)
	}
	s, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:       c.Stream,
		Subjects:   []string{c.Prefix + ".>"},
		Storage:    jetstream.FileStorage,
		Duplicates: DefaultDuplicates,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // made meanwhile by another end
		s, err = js.Stream(ctx, c.Stream)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: creating %q: %w", ErrStream, c.Stream, err)
	}
	return s, nil
}

// checkSubjects makes sure the prefix's subjects land in c's stream (a
// stream made by someone else may have other subjects).
func checkSubjects(js jetstream.JetStream, c *Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.ConnectTimeout)
	defer cancel()
	subj := c.Prefix + ".0"
	name, err := js.StreamNameBySubject(ctx, subj)
	if err != nil {
		return fmt.Errorf("%w: no stream takes subject %s: %w", ErrStream, subj, err)
	}
	if name != c.Stream {
		return fmt.Errorf("%w: subject %s goes to stream %q, not %q", ErrStream, subj, name, c.Stream)
	}
	return nil
}
