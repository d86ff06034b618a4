package tcpbridge

import (
	"errors"
	"net"
	"sync"
	"time"

	"udpstream.dev/engine/internal/zmtp"
)

const (
	// handshakeTimeout bounds the ZMTP greeting and READY exchange.
	handshakeTimeout = 5 * time.Second
	// writeTimeout bounds one message write; a peer that takes no bytes
	// for that long loses its connection.
	writeTimeout = 5 * time.Second
	// maxParts and maxPart bound what one message may hold in memory:
	// anything beyond is skipped and the message counted as malformed.
	maxParts = 8
	maxPart  = 64 << 20
)

var errDataOnPush = errors.New("tcpbridge: a PULL peer sent a message")

// sock is one ZMTP connection. Reading is done by one goroutine; writes
// are serialised by wmu.
type sock struct {
	nc   net.Conn
	rd   *zmtp.Reader
	push bool // this side sends messages on it

	wmu sync.Mutex
	out []byte // message being written, under wmu

	parts [][]byte // the last message's parts, views of bufs
	bufs  [][]byte
}

func newSock(nc net.Conn, push bool) *sock {
	return &sock{nc: nc, rd: zmtp.NewReader(nc), push: push, bufs: make([][]byte, maxParts)}
}

// handshake runs the ZMTP handshake as a PUSH or a PULL socket.
func (s *sock) handshake() error {
	local, remote := "PULL", "PUSH"
	if s.push {
		local, remote = "PUSH", "PULL"
	}
	return zmtp.Handshake(s.nc.(zmtp.Deadliner), local, remote, handshakeTimeout, s.rd)
}

// readMessage reads one multipart message, serving commands between its
// frames. bad is set when the message had more than maxParts parts or a
// part larger than maxPart (those were skipped). The parts are valid
// until the next call.
func (s *sock) readMessage() (parts [][]byte, bad bool, err error) {
	s.parts = s.parts[:0]
	for {
		flags, size, err := s.rd.Header()
		if err != nil {
			return nil, false, err
		}
		if flags&zmtp.FlagCommand != 0 {
			if err := s.command(size); err != nil {
				return nil, false, err
			}
			continue
		}
		if len(s.parts) >= maxParts || size > maxPart {
			bad = true
			if err := s.rd.Skip(size); err != nil {
				return nil, false, err
			}
		} else if err := s.readPart(int(size)); err != nil {
			return nil, false, err
		}
		if flags&zmtp.FlagMore == 0 {
			return s.parts, bad, nil
		}
	}
}

// readPart reads a part of n bytes into its reusable buffer.
func (s *sock) readPart(n int) error {
	i := len(s.parts)
	if cap(s.bufs[i]) < n {
		s.bufs[i] = make([]byte, n)
	}
	b := s.bufs[i][:n]
	if err := s.rd.ReadInto(b); err != nil {
		return zmtp.Unexpected(err)
	}
	s.parts = append(s.parts, b)
	return nil
}

// command serves one command frame: PING gets its PONG.
func (s *sock) command(size uint64) error {
	if size > zmtp.MaxCommandSize {
		return zmtp.ErrBadCommand
	}
	body, err := s.rd.Next(int(size))
	if err != nil {
		return zmtp.Unexpected(err)
	}
	name, data, err := zmtp.Command(body)
	if err != nil || name != "PING" {
		return err
	}
	if len(data) < 2 {
		return zmtp.ErrBadCommand
	}
	ctx := data[2:]
	if len(ctx) > 16 {
		ctx = ctx[:16]
	}
	var out [9 + 5 + 16]byte
	n := zmtp.PutHeader(out[:], zmtp.FlagCommand, 5+len(ctx))
	n += copy(out[n:], "\x04PONG")
	n += copy(out[n:], ctx)
	return s.write(out[:n])
}

// write sends b whole, or fails within writeTimeout.
func (s *sock) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeLocked(b)
}

func (s *sock) writeLocked(b []byte) error {
	s.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := s.nc.Write(b)
	s.nc.SetWriteDeadline(time.Time{})
	return err
}

// send writes the parts as one message.
func (s *sock) send(parts ...[]byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.out = appendMessage(s.out[:0], parts...)
	return s.writeLocked(s.out)
}
