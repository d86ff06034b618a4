// Package wire defines what udpperf puts in a datagram: the sequence header
// of data datagrams and the control messages that open and close a test.
//
// A data datagram carries its sequence number in the first 8 bytes
// (little-endian), or is a Rogue PRBS frame whose first word is the
// sequence number. A control datagram starts with the 8-byte Magic, a value
// that can be neither: as a sequence number it lies beyond 2^56, and read as
// a PRBS frame its size word would announce a frame of about 94 MB.
//
// Control messages are few and never on the hot path; their bodies are JSON
// where they carry structured data, so both sides can grow fields freely.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic marks a control datagram: the bytes "udpperf" and version 1, read
// as a little-endian uint64.
const Magic uint64 = 0x01_66_72_65_70_70_64_75

// HeaderLen is the size of a control message's fixed header:
// magic (8), type (1), reserved (7), session (8), two values (8 + 8).
const HeaderLen = 40

// SeqLen is the size of the sequence header of a data datagram.
const SeqLen = 8

// MaxBurst bounds the data datagrams a udpperf sender hands the kernel in
// one call. A receiver uses it as the slack of a sender's final count: a
// last burst may leave just before the end message.
const MaxBurst = 8192

// Type says what a control message asks or answers.
type Type uint8

// Control message types. Hello opens a session (body: JSON test
// parameters) and is answered by Welcome; End closes it (A: datagrams sent,
// B: bytes sent) and is answered by Result (body: JSON receiver summary);
// Ping is echoed back unchanged by a server (A: sequence, B: send time).
const (
	TypeHello   Type = 1
	TypeWelcome Type = 2
	TypeEnd     Type = 3
	TypeResult  Type = 4
	TypePing    Type = 5
)

// String names the type for error messages.
func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeWelcome:
		return "welcome"
	case TypeEnd:
		return "end"
	case TypeResult:
		return "result"
	case TypePing:
		return "ping"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Message is a decoded control message. Body aliases the datagram it was
// decoded from.
type Message struct {
	Type    Type
	Session uint64
	A, B    uint64
	Body    []byte
}

// ErrNotControl is returned by Decode for a datagram that does not start
// with Magic (a data datagram).
var ErrNotControl = errors.New("wire: not a control message")

// IsControl reports whether a datagram starts with Magic. It is the one
// test the receive path makes per datagram.
func IsControl(b []byte) bool {
	return len(b) >= 8 && binary.LittleEndian.Uint64(b) == Magic
}

// Encode appends m to dst and returns the extended slice.
func Encode(dst []byte, m Message) []byte {
	var h [HeaderLen]byte
	binary.LittleEndian.PutUint64(h[0:], Magic)
	h[8] = byte(m.Type)
	binary.LittleEndian.PutUint64(h[16:], m.Session)
	binary.LittleEndian.PutUint64(h[24:], m.A)
	binary.LittleEndian.PutUint64(h[32:], m.B)
	dst = append(dst, h[:]...)
	return append(dst, m.Body...)
}

// Put writes m's header (not its body) into b, which must hold HeaderLen
// bytes; bytes after the header are left alone. It does not allocate.
func Put(b []byte, m Message) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("wire: %d bytes cannot hold a %d-byte control header", len(b), HeaderLen)
	}
	binary.LittleEndian.PutUint64(b[0:], Magic)
	b[8] = byte(m.Type)
	clear(b[9:16])
	binary.LittleEndian.PutUint64(b[16:], m.Session)
	binary.LittleEndian.PutUint64(b[24:], m.A)
	binary.LittleEndian.PutUint64(b[32:], m.B)
	return nil
}

// Decode parses a control datagram. It returns ErrNotControl for a data
// datagram and a descriptive error for a truncated control message.
func Decode(b []byte) (Message, error) {
	if !IsControl(b) {
		return Message{}, ErrNotControl
	}
	if len(b) < HeaderLen {
		return Message{}, fmt.Errorf("wire: control message of %d bytes is shorter than its %d-byte header", len(b), HeaderLen)
	}
	return Message{
		Type:    Type(b[8]),
		Session: binary.LittleEndian.Uint64(b[16:]),
		A:       binary.LittleEndian.Uint64(b[24:]),
		B:       binary.LittleEndian.Uint64(b[32:]),
		Body:    b[HeaderLen:],
	}, nil
}

// PutSeq writes a data datagram's sequence header.
func PutSeq(b []byte, seq uint64) { binary.LittleEndian.PutUint64(b, seq) }

// Seq reads a data datagram's sequence header; ok is false when the
// datagram is too short to carry one.
func Seq(b []byte) (seq uint64, ok bool) {
	if len(b) < SeqLen {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

// PRBSSeq reads the sequence word of a Rogue PRBS frame (width 32 or more:
// the first 32 bits of word 0, little-endian).
func PRBSSeq(b []byte) (seq uint32, ok bool) {
	if len(b) < 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

// StampedLen is the header of a data datagram whose session announced send
// times (hello parameter "stamped"): the sequence number, then the send
// time in nanoseconds since the Unix epoch (little-endian int64). Receivers
// of sessions without it, and older ones, read the sequence number alone.
const StampedLen = SeqLen + 8

// PutSendTime writes the send time after the sequence number; b must hold
// StampedLen bytes.
func PutSendTime(b []byte, unixNano int64) {
	binary.LittleEndian.PutUint64(b[SeqLen:], uint64(unixNano))
}

// SendTime reads the send time written by PutSendTime; ok is false when
// the datagram is too short to carry one.
func SendTime(b []byte) (unixNano int64, ok bool) {
	if len(b) < StampedLen {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b[SeqLen:])), true
}
