package fileio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// HeaderSize is the bytes in front of each record's payload in framed mode.
const HeaderSize = 8

// MaxPayload is the largest payload a record can describe: its first
// header word, a uint32, holds the payload length plus 4.
const MaxPayload = 1<<32 - 1 - 4

var (
	// ErrTruncated marks a file that ends inside a record.
	ErrTruncated = errors.New("fileio: file ends inside a record")
	// ErrCorrupt marks a record header that no writer produces.
	ErrCorrupt = errors.New("fileio: corrupt record header")
	// ErrNotOpen is returned by Flush on a writer with no file open.
	ErrNotOpen = errors.New("fileio: no file open")
	// ErrOversize is the cause counted when a frame is larger than the
	// size limit of a split file set and so cannot be stored.
	ErrOversize = errors.New("fileio: frame larger than the file size limit")
)

// FormatError reports where a file stops being a valid data file. The
// frames of every record before Offset were delivered.
type FormatError struct {
	File   string // the file's name
	Offset int64  // byte offset of the damaged record in File
	Record int    // index of the damaged record in File, from 0
	Reason string
	Err    error // ErrTruncated or ErrCorrupt
}

// Error describes the damage and where it starts.
func (e *FormatError) Error() string {
	return fmt.Sprintf("fileio: %s: record %d at byte %d: %s", e.File, e.Record, e.Offset, e.Reason)
}

// Unwrap returns ErrTruncated or ErrCorrupt.
func (e *FormatError) Unwrap() error { return e.Err }

// Header is the metadata of one framed record.
type Header struct {
	Payload uint32 // payload bytes
	Channel uint8
	Error   uint8
	Flags   uint16 // low byte firstUser, high byte lastUser
}

// Put writes h as the 8 bytes that precede its payload.
func (h Header) Put(b *[HeaderSize]byte) {
	binary.LittleEndian.PutUint32(b[0:4], h.Payload+4)
	binary.LittleEndian.PutUint32(b[4:8], uint32(h.Channel)<<24|uint32(h.Error)<<16|uint32(h.Flags))
}

// ParseHeader decodes the 8 bytes in front of a record's payload. It fails
// with ErrCorrupt when the size word is below 4, which no writer produces.
func ParseHeader(b *[HeaderSize]byte) (Header, error) {
	a := binary.LittleEndian.Uint32(b[0:4])
	if a < 4 {
		return Header{}, fmt.Errorf("%w: size word %d is below 4", ErrCorrupt, a)
	}
	w := binary.LittleEndian.Uint32(b[4:8])
	return Header{Payload: a - 4, Channel: uint8(w >> 24), Error: uint8(w >> 16), Flags: uint16(w)}, nil
}

// SplitName is the name of file index (from 1) of a split set named base.
func SplitName(base string, index int) string {
	return base + "." + strconv.Itoa(index)
}
