// Package zmtp is the subset of ZMTP 3.x (ZeroMQ's wire protocol over TCP)
// that Rogue's TCP bridges need: the greeting and the NULL mechanism's
// READY handshake for PUSH and PULL sockets, frame headers with the MORE
// and LONG flags, commands, a buffered reader for a connection, and Life,
// the shutdown bookkeeping of one bridge end. The
// stream bridge (engine/zmq) and the memory bridge share it.
package zmtp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// ZMTP 3.x framing (rfc 23/ZMTP, 37/ZMTP), the subset a PUSH/PULL pair with
// the NULL mechanism needs.
const (
	GreetingLen = 64

	FlagMore    = 0x01
	FlagLong    = 0x02
	FlagCommand = 0x04
	FlagsKnown  = FlagMore | FlagLong | FlagCommand

	// MaxShortSize is the largest body a one-byte size field carries.
	MaxShortSize = 255
	// MaxCommandSize bounds the commands this side reads into memory
	// (READY, PING); a larger one is a protocol error.
	MaxCommandSize = 4096
)

var (
	ErrNotZMTP    = errors.New("zmq: peer is not speaking ZMTP (bad greeting signature)")
	ErrOldZMTP    = errors.New("zmq: peer speaks ZMTP older than 3.0")
	ErrMechanism  = errors.New("zmq: peer wants a security mechanism other than NULL")
	ErrBadCommand = errors.New("zmq: malformed ZMTP command")
)

// Greeting is what this side sends: signature, version 3.1, mechanism NULL,
// as-server 0 (the NULL mechanism has no roles), zero filler.
var Greeting = func() [GreetingLen]byte {
	var g [GreetingLen]byte
	g[0], g[9] = 0xff, 0x7f
	g[10], g[11] = 3, 1
	copy(g[12:32], "NULL")
	return g
}()

// CheckGreeting validates a peer's 64-byte greeting.
func CheckGreeting(g []byte) error {
	if g[0] != 0xff || g[9]&1 != 1 {
		return ErrNotZMTP
	}
	if g[10] < 3 {
		return ErrOldZMTP
	}
	mech := g[12:32]
	if string(mech[:4]) != "NULL" {
		return ErrMechanism
	}
	for _, b := range mech[4:] {
		if b != 0 {
			return ErrMechanism
		}
	}
	return nil
}

// PutHeader writes the flags and size of one ZMTP frame into dst (at least
// 9 bytes) and returns the header's length: 2 bytes for a body of up to 255
// bytes, 9 with the LONG flag and a big-endian 64-bit size otherwise.
func PutHeader(dst []byte, flags byte, size int) int {
	if size <= MaxShortSize {
		dst[0], dst[1] = flags, byte(size)
		return 2
	}
	dst[0] = flags | FlagLong
	binary.BigEndian.PutUint64(dst[1:9], uint64(size))
	return 9
}

// ReadyCommand builds the READY command body announcing socketType.
func ReadyCommand(socketType string) []byte {
	const prop = "Socket-Type"
	body := make([]byte, 0, 6+1+len(prop)+4+len(socketType))
	body = append(body, 5)
	body = append(body, "READY"...)
	body = append(body, byte(len(prop)))
	body = append(body, prop...)
	body = binary.BigEndian.AppendUint32(body, uint32(len(socketType)))
	body = append(body, socketType...)
	return body
}

// Command splits a command body into its name and data.
func Command(body []byte) (name string, data []byte, err error) {
	if len(body) < 1 || int(body[0])+1 > len(body) {
		return "", nil, ErrBadCommand
	}
	n := int(body[0])
	return string(body[1 : 1+n]), body[1+n:], nil
}

// ReadyProperty returns the value of property prop (case-insensitive, as
// ZMTP property names are) in a READY command's data.
func ReadyProperty(data []byte, prop string) (string, error) {
	for len(data) > 0 {
		n := int(data[0])
		if 1+n+4 > len(data) {
			return "", ErrBadCommand
		}
		name := string(data[1 : 1+n])
		vlen := binary.BigEndian.Uint32(data[1+n : 5+n])
		data = data[5+n:]
		if uint64(vlen) > uint64(len(data)) {
			return "", ErrBadCommand
		}
		if equalFold(name, prop) {
			return string(data[:vlen]), nil
		}
		data = data[vlen:]
	}
	return "", fmt.Errorf("zmq: READY command without %s", prop)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// Deadliner is the part of net.Conn the Handshake needs.
type Deadliner interface {
	io.ReadWriter
	SetDeadline(t time.Time) error
}

// Handshake exchanges greetings and READY commands on a new connection:
// this side is a socket of type local and accepts only a peer of type
// remote. Bytes read past the peer's READY command stay in rd for the
// traffic that follows.
func Handshake(c Deadliner, local, remote string, timeout time.Duration, rd *Reader) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	ready := ReadyCommand(local)
	out := make([]byte, 0, GreetingLen+9+len(ready))
	out = append(out, Greeting[:]...)
	var hdr [9]byte
	out = append(out, hdr[:PutHeader(hdr[:], FlagCommand, len(ready))]...)
	out = append(out, ready...)
	if _, err := c.Write(out); err != nil {
		return fmt.Errorf("zmq: sending greeting: %w", err)
	}
	g, err := rd.Next(GreetingLen)
	if err != nil {
		return fmt.Errorf("zmq: reading greeting: %w", err)
	}
	if err := CheckGreeting(g); err != nil {
		return err
	}
	if err := expectReady(rd, remote); err != nil {
		return err
	}
	return c.SetDeadline(time.Time{})
}

// expectReady reads the peer's READY command and checks its socket type.
func expectReady(rd *Reader, remote string) error {
	flags, size, err := rd.Header()
	if err != nil {
		return fmt.Errorf("zmq: reading READY: %w", err)
	}
	if flags&FlagCommand == 0 || size > MaxCommandSize {
		return ErrBadCommand
	}
	body, err := rd.Next(int(size))
	if err != nil {
		return fmt.Errorf("zmq: reading READY: %w", err)
	}
	name, data, err := Command(body)
	if err != nil {
		return err
	}
	if name == "ERROR" {
		return fmt.Errorf("zmq: peer refused the connection: %q", data)
	}
	if name != "READY" {
		return fmt.Errorf("zmq: peer sent %q instead of READY", name)
	}
	st, err := ReadyProperty(data, "Socket-Type")
	if err != nil {
		return err
	}
	if st != remote {
		return fmt.Errorf("zmq: peer is a %s socket, want %s", st, remote)
	}
	return nil
}
