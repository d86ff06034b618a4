package natsjs

import (
	"encoding/binary"
	"errors"
	"fmt"

	"udpstream.dev/engine"
)

// Message format (all integers little-endian). One JetStream message
// carries a batch of frames of one channel:
//
//	message header, 16 bytes
//	  0  2  magic "UJ" (0x55 0x4a)
//	  2  1  version, 1
//	  3  1  reserved, 0
//	  4  4  record count
//	  8  8  run: the publisher's random identity, fixed for its life
//	then count records, each
//	  0  4  payload size in bytes
//	  4  2  frame flags (firstUser in the low byte, lastUser in the high)
//	  6  1  channel
//	  7  1  error
//	  8  8  sequence: 1 for the run's first frame on this channel, +1 per frame
//	 16  size  payload
//
// Nothing may follow the last record. A message of zero records is valid
// (it carries nothing) but the publisher never sends one.
const (
	MsgHeaderLen    = 16
	RecordHeaderLen = 16
	formatVersion   = 1
)

var magic = [2]byte{'U', 'J'}

// Record is one frame as the message format carries it. Payload aliases
// the message.
type Record struct {
	Size    uint32
	Flags   uint16
	Channel uint8
	Error   uint8
	Seq     uint64
	Payload []byte
}

// Header is a message's fixed part.
type Header struct {
	Count uint32
	Run   uint64
}

// putHeader writes a message header at the start of b (len >= MsgHeaderLen).
func putHeader(b []byte, h Header) {
	b[0], b[1], b[2], b[3] = magic[0], magic[1], formatVersion, 0
	binary.LittleEndian.PutUint32(b[4:], h.Count)
	binary.LittleEndian.PutUint64(b[8:], h.Run)
}

// appendRecord appends the record of frame f (n payload bytes, the caller
// has checked that cap(b) holds them) with sequence seq, and returns b. A
// frame of one buffer is copied straight from its memory; one of several
// through ReadAt.
func appendRecord(b []byte, f engine.Frame, n int, seq uint64) ([]byte, error) {
	off := len(b)
	b = b[:off+RecordHeaderLen+n]
	h := b[off : off+RecordHeaderLen]
	binary.LittleEndian.PutUint32(h[0:], uint32(n))
	binary.LittleEndian.PutUint16(h[4:], f.Flags())
	h[6], h[7] = f.Channel(), f.Error()
	binary.LittleEndian.PutUint64(h[8:], seq)
	dst := b[off+RecordHeaderLen:]
	src, err := f.Bytes()
	got := copy(dst, src)
	if errors.Is(err, engine.ErrNotContiguous) {
		got, err = f.ReadAt(dst, 0)
		if got == n {
			err = nil
		}
	}
	if err != nil || got != n || len(src) > n {
		return b[:off], fmt.Errorf("%w: read %d of %d bytes: %v", engine.ErrReleased, got, n, err)
	}
	return b, nil
}

// AppendRecord appends r (its Payload, with r.Size ignored) to a message
// body b and returns it: the encoder for tools and tests. The caller
// writes the header (PutHeader) with the final count.
func AppendRecord(b []byte, r Record) []byte {
	var h [RecordHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(r.Payload)))
	binary.LittleEndian.PutUint16(h[4:], r.Flags)
	h[6], h[7] = r.Channel, r.Error
	binary.LittleEndian.PutUint64(h[8:], r.Seq)
	return append(append(b, h[:]...), r.Payload...)
}

// PutHeader writes a message header at the start of b, which must hold
// MsgHeaderLen bytes.
func PutHeader(b []byte, h Header) { putHeader(b, h) }

// ParseHeader checks and decodes a message's header.
func ParseHeader(msg []byte) (Header, error) {
	switch {
	case len(msg) < MsgHeaderLen:
		return Header{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrMalformed, len(msg), MsgHeaderLen)
	case msg[0] != magic[0] || msg[1] != magic[1]:
		return Header{}, fmt.Errorf("%w: magic %#02x%02x", ErrMalformed, msg[0], msg[1])
	case msg[2] != formatVersion:
		return Header{}, fmt.Errorf("%w: version %d, want %d", ErrMalformed, msg[2], formatVersion)
	case msg[3] != 0:
		return Header{}, fmt.Errorf("%w: reserved byte %#02x", ErrMalformed, msg[3])
	}
	return Header{Count: binary.LittleEndian.Uint32(msg[4:]), Run: binary.LittleEndian.Uint64(msg[8:])}, nil
}

// Records walks a whole message: it checks the header and every record,
// and calls fn for each record in order only once the whole message is
// known to be well formed, so a malformed message yields no record. fn's
// Payload aliases msg. A non-nil error from fn stops the walk and is
// returned.
func Records(msg []byte, fn func(Record) error) (Header, error) {
	h, err := ParseHeader(msg)
	if err != nil {
		return h, err
	}
	if err := checkRecords(msg, h.Count); err != nil {
		return h, err
	}
	off := MsgHeaderLen
	for range h.Count {
		r := decodeRecord(msg[off:])
		off += RecordHeaderLen + int(r.Size)
		if err := fn(r); err != nil {
			return h, err
		}
	}
	return h, nil
}

// checkRecords verifies that count records fill msg after the header
// exactly.
func checkRecords(msg []byte, count uint32) error {
	off := MsgHeaderLen
	for i := range count {
		if len(msg)-off < RecordHeaderLen {
			return fmt.Errorf("%w: record %d of %d: header cut at byte %d", ErrMalformed, i, count, len(msg))
		}
		size := binary.LittleEndian.Uint32(msg[off:])
		off += RecordHeaderLen
		if uint64(size) > uint64(len(msg)-off) {
			return fmt.Errorf("%w: record %d of %d: %d-byte payload, %d bytes left", ErrMalformed, i, count, size, len(msg)-off)
		}
		off += int(size)
	}
	if off != len(msg) {
		return fmt.Errorf("%w: %d bytes after record %d", ErrMalformed, len(msg)-off, count)
	}
	return nil
}

// decodeRecord reads a record known to be whole at the start of b.
func decodeRecord(b []byte) Record {
	size := binary.LittleEndian.Uint32(b)
	return Record{
		Size:    size,
		Flags:   binary.LittleEndian.Uint16(b[4:]),
		Channel: b[6],
		Error:   b[7],
		Seq:     binary.LittleEndian.Uint64(b[8:]),
		Payload: b[RecordHeaderLen : RecordHeaderLen+int(size) : RecordHeaderLen+int(size)],
	}
}
