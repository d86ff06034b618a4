package srp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"udpstream.dev/engine/memory"
)

// SRPv3 frame layout: a 20-byte header of five little-endian 32-bit
// words, then the request's data (writes) or the response's data and a
// 4-byte status footer.
const (
	HeaderSize = 20
	FooterSize = 4
	Version    = 3
	// MinAccess and MaxAccess are the sizes SRPv3 carries in one frame.
	MinAccess = 4
	MaxAccess = 4096
	// DefaultHardwareTimeout is the timeout byte Rogue sends (word 0,
	// bits 31:24).
	DefaultHardwareTimeout = 0x0A

	// word0Mask is the part of word 0 a response must echo: bits 13:10
	// are ignored, as Rogue does.
	word0Mask = 0xFFFFC3FF
	// ignoreRespBit is bit 14 of word 0 (ignore memory response).
	ignoreRespBit = 1 << 14
)

// Opcode is word 0 bits 9:8.
type Opcode uint8

const (
	OpRead  Opcode = 0 // non-posted read
	OpWrite Opcode = 1 // non-posted write
	OpPost  Opcode = 2 // posted write
	OpNull  Opcode = 3 // null: never sent by Rogue, dropped by devices
)

func (o Opcode) String() string {
	return [...]string{"read", "write", "posted write", "null"}[o&3]
}

// Footer status bits Rogue gives a meaning.
const (
	StatusBusTimeout = 0x0100 // bit 8: register bus timeout
	StatusBusLockup  = 0x2000 // bit 13: register bus lockup
	// StatusSlaveError is what the device side reports for a memory
	// error other than a timeout (an AXI SLVERR-like code).
	StatusSlaveError = 0x0002
)

// Header is the decoded 20-byte SRPv3 header.
type Header struct {
	Opcode        Opcode
	IgnoreResp    bool  // bit 14
	Reserved      uint8 // bits 13:10 (sent 0, ignored on receipt)
	Timeout       uint8 // bits 31:24
	VersionByte   uint8 // bits 7:0, 3 for SRPv3
	HighBits      uint16
	ID            uint32
	Address       uint64
	Size          uint32 // bytes accessed: word 4 + 1
	Word0         uint32 // word 0 as sent
	SizeFieldWord uint32 // word 4 as sent (Size - 1)
}

// Errors of frame parsing; the device side counts each kind.
var (
	ErrUndersized = errors.New("srp: frame shorter than its header")
	ErrVersion    = errors.New("srp: version is not 3")
	ErrOpcode     = errors.New("srp: null opcode")
	ErrBadSize    = errors.New("srp: size not a multiple of 4 in 4..4096")
	ErrShortWrite = errors.New("srp: write frame shorter than its size")
)

// OpcodeFor is the opcode Rogue sends for a transaction type: Write and
// Post write, everything else (Read, Verify) reads.
func OpcodeFor(t memory.Type) Opcode {
	switch t {
	case memory.Write:
		return OpWrite
	case memory.Post:
		return OpPost
	}
	return OpRead
}

// Word0 builds word 0 as Rogue does: version 3, the opcode, the timeout.
func Word0(op Opcode, timeout uint8) uint32 {
	return Version | uint32(op)<<8 | uint32(timeout)<<24
}

// PutHeader writes the request header for a transaction of id at addr of
// size bytes into dst[:20].
func PutHeader(dst []byte, op Opcode, timeout uint8, id uint32, addr uint64, size uint32) {
	le := binary.LittleEndian
	le.PutUint32(dst[0:], Word0(op, timeout))
	le.PutUint32(dst[4:], id)
	le.PutUint32(dst[8:], uint32(addr))
	le.PutUint32(dst[12:], uint32(addr>>32))
	le.PutUint32(dst[16:], size-1)
}

// AppendRequest appends a whole request frame: header, then data for the
// two write opcodes.
func AppendRequest(dst []byte, op Opcode, timeout uint8, id uint32, addr uint64, size uint32, data []byte) []byte {
	var h [HeaderSize]byte
	PutHeader(h[:], op, timeout, id, addr, size)
	dst = append(dst, h[:]...)
	if op == OpWrite || op == OpPost {
		dst = append(dst, data...)
	}
	return dst
}

// ParseHeader decodes the first 20 bytes of b, which must hold them.
func ParseHeader(b []byte) Header {
	le := binary.LittleEndian
	w0 := le.Uint32(b[0:])
	w4 := le.Uint32(b[16:])
	return Header{
		Word0:         w0,
		VersionByte:   uint8(w0),
		Opcode:        Opcode(w0>>8) & 3,
		Reserved:      uint8(w0>>10) & 0xF,
		IgnoreResp:    w0&ignoreRespBit != 0,
		HighBits:      uint16(w0>>15) & 0x1FF,
		Timeout:       uint8(w0 >> 24),
		ID:            le.Uint32(b[4:]),
		Address:       uint64(le.Uint32(b[8:])) | uint64(le.Uint32(b[12:]))<<32,
		SizeFieldWord: w4,
		Size:          w4 + 1,
	}
}

// ParseRequest checks a request frame as Rogue's SrpV3Emulation does and
// returns its header and, for writes, its data (a sub-slice of b; extra
// bytes after it are ignored). It does not check address alignment, and
// ignores bit 14.
func ParseRequest(b []byte) (Header, []byte, error) {
	if len(b) < HeaderSize {
		return Header{}, nil, fmt.Errorf("%w: %d bytes", ErrUndersized, len(b))
	}
	h := ParseHeader(b)
	if err := CheckRequest(h, len(b)); err != nil {
		return h, nil, err
	}
	if h.Opcode == OpRead {
		return h, nil, nil
	}
	return h, b[HeaderSize : HeaderSize+int(h.Size)], nil
}

// CheckRequest applies ParseRequest's checks to a decoded header and the
// length of its frame.
func CheckRequest(h Header, length int) error {
	if h.VersionByte != Version {
		return fmt.Errorf("%w: version byte %d", ErrVersion, h.VersionByte)
	}
	if h.Opcode == OpNull {
		return ErrOpcode
	}
	if h.SizeFieldWord >= MaxAccess || h.Size%4 != 0 {
		return fmt.Errorf("%w: size field %#x", ErrBadSize, h.SizeFieldWord)
	}
	if h.Opcode != OpRead && length < HeaderSize+int(h.Size) {
		return fmt.Errorf("%w: %d data bytes for size %d", ErrShortWrite, length-HeaderSize, h.Size)
	}
	return nil
}

// Response is a decoded response frame.
type Response struct {
	Header
	Data   []byte // between header and footer (sub-slice of the frame)
	Footer uint32
	Length int
}

// ParseResponse splits a response frame into header, data and footer. It
// fails only for a frame shorter than header and footer; the checks
// against the request are the host's.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < HeaderSize+FooterSize {
		return Response{}, fmt.Errorf("%w: %d bytes", ErrUndersized, len(b))
	}
	return Response{
		Header: ParseHeader(b),
		Data:   b[HeaderSize : len(b)-FooterSize],
		Footer: binary.LittleEndian.Uint32(b[len(b)-FooterSize:]),
		Length: len(b),
	}, nil
}
