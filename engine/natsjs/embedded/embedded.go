// Package embedded runs a NATS server with JetStream inside the process:
// for tests, and for a one-machine trial of the natsjs bridge. It is kept
// apart from natsjs so that only what needs a server links one.
package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrStart is returned when the server cannot start.
var ErrStart = errors.New("embedded: cannot start the NATS server")

// Options configures a Server. Zero fields take the defaults.
type Options struct {
	// Dir is JetStream's store directory (required).
	Dir string
	// Host and Port are where clients connect; defaults 127.0.0.1 and a
	// port the system chooses.
	Host string
	Port int
	// ReadyTimeout bounds the wait for the server to take connections;
	// default 10 s.
	ReadyTimeout time.Duration
}

// Server is a running in-process NATS server.
type Server struct {
	s    *server.Server
	host string
	port int
}

// Start starts a server with JetStream on opts.Dir and waits until it
// takes connections.
func Start(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: no store directory", ErrStart)
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	s, err := server.NewServer(&server.Options{
		Host: opts.Host, Port: opts.Port,
		JetStream: true, StoreDir: opts.Dir,
		NoSigs: true, NoLog: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	s.Start()
	if !s.ReadyForConnections(opts.ReadyTimeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("%w: not ready within %v on %s", ErrStart, opts.ReadyTimeout,
			net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	}
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("%w: no TCP address", ErrStart)
	}
	return &Server{s: s, host: opts.Host, port: addr.Port}, nil
}

// Port is the client port.
func (s *Server) Port() int { return s.port }

// URL is nats://host:port.
func (s *Server) URL() string {
	return "nats://" + net.JoinHostPort(s.host, strconv.Itoa(s.port))
}

// Shutdown stops the server and waits until it has stopped.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
