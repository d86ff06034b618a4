package packetizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Sizes of the two layouts.
const (
	V1HeaderSize = 8
	V1TailSize   = 1
	V1MinSegment = 10 // Rogue drops anything shorter
	V2HeaderSize = 8
	V2TailSize   = 8
	V2MinSegment = 24 // header, one data word, tail
)

// SSI bits Rogue's packetizers set or read when SSI is enabled.
const (
	SSISOF  uint8 = 0x02 // in tUserFirst: start of frame
	SSIEOFE uint8 = 0x01 // in tUserLast: the frame ended in error
)

// ErrorEOFE is the error code a received frame gets when its last
// segment's tUserLast carries SSI EOFE (Rogue sets 0x80).
const ErrorEOFE uint8 = 0x80

// Errors of the segment parsers; match with errors.Is.
var (
	ErrSegmentSize = errors.New("packetizer: segment size invalid for the layout")
	ErrVersion     = errors.New("packetizer: segment version nibble mismatch")
	ErrLast        = errors.New("packetizer: v2 tail's last-word count outside 1..8")
	ErrCRC         = errors.New("packetizer: v2 CRC mismatch")
)

// V1Header is a version 1 segment's header and tail.
type V1Header struct {
	FrameIndex uint16 // 12 bits, counts frames over all tDests
	Segment    uint32 // 24 bits, 0 for a frame's first segment
	TDest      uint8
	TID        uint8
	FirstUser  uint8
	EOF        bool
	LastUser   uint8 // 7 bits
}

// PutV1 writes the header of h into seg[:8] and its tail into the last
// byte; the data lies between them.
func PutV1(seg []byte, h *V1Header) {
	seg[0] = byte(h.FrameIndex&0xf) << 4
	seg[1] = byte(h.FrameIndex >> 4)
	seg[2], seg[3], seg[4] = byte(h.Segment), byte(h.Segment>>8), byte(h.Segment>>16)
	seg[5], seg[6], seg[7] = h.TDest, h.TID, h.FirstUser
	t := h.LastUser & 0x7f
	if h.EOF {
		t |= 0x80
	}
	seg[len(seg)-1] = t
}

// ParseV1 decodes a version 1 segment and returns its data (a sub-slice of
// seg). It rejects what Rogue's receiver drops: fewer than 10 bytes or a
// version nibble other than 0. It does not allocate on success.
func ParseV1(seg []byte, h *V1Header) ([]byte, error) {
	if len(seg) < V1MinSegment {
		return nil, fmt.Errorf("%w: v1 segment of %d bytes (minimum %d)", ErrSegmentSize, len(seg), V1MinSegment)
	}
	if seg[0]&0xf != 0 {
		return nil, fmt.Errorf("%w: v1 byte 0 is %#02x", ErrVersion, seg[0])
	}
	h.FrameIndex = uint16(seg[0]>>4) | uint16(seg[1])<<4
	h.Segment = uint32(seg[2]) | uint32(seg[3])<<8 | uint32(seg[4])<<16
	h.TDest, h.TID, h.FirstUser = seg[5], seg[6], seg[7]
	t := seg[len(seg)-1]
	h.EOF, h.LastUser = t&0x80 != 0, t&0x7f
	return seg[V1HeaderSize : len(seg)-V1TailSize], nil
}

// V2Header is a version 2 segment's header and tail.
type V2Header struct {
	CRCOn     bool // b0 0x20: the sender filled the CRC
	FirstUser uint8
	TDest     uint8
	TID       uint8
	Segment   uint16 // counts from 0 in each frame
	SOF       bool
	LastUser  uint8
	EOF       bool
	Last      uint8  // valid bytes in the final data word, 1..8
	CRC       uint32 // as received or as written
}

// V2Size is the segment size that carries n data bytes (n >= 1): header,
// data padded to 8, tail.
func V2Size(n int) int { return V2HeaderSize + (n+7)&^7 + V2TailSize }

// PutV2 writes h's header and tail around the data already in seg
// (seg[8:len-8], padded to 8 bytes) and, if h.CRCOn, the CRC chained from
// prev (0 at a frame's first segment), which it also stores in h.CRC and
// returns. len(seg) must be a multiple of 8 and at least 24.
func PutV2(seg []byte, h *V2Header, prev uint32) uint32 {
	seg[0] = 0x02
	if h.CRCOn {
		seg[0] |= 0x20
	}
	seg[1], seg[2], seg[3] = h.FirstUser, h.TDest, h.TID
	binary.LittleEndian.PutUint16(seg[4:], h.Segment)
	seg[6], seg[7] = 0, 0
	if h.SOF {
		seg[7] = 0x80
	}
	t := seg[len(seg)-V2TailSize:]
	t[0], t[1], t[2], t[3] = h.LastUser, 0, h.Last, 0
	if h.EOF {
		t[1] = 1
	}
	h.CRC = 0
	if h.CRCOn {
		h.CRC = crc32.Update(prev, crc32.IEEETable, seg[:len(seg)-4])
	}
	binary.BigEndian.PutUint32(t[4:], h.CRC)
	return h.CRC
}

// ParseV2 decodes a version 2 segment and returns its data without the
// padding (a sub-slice of seg). It rejects what Rogue's receiver drops:
// fewer than 24 bytes, a size not a multiple of 8, a version nibble other
// than 2, and a last-word count outside 1..8. The CRC is returned in
// h.CRC, unchecked: see CheckV2CRC. It does not allocate on success.
func ParseV2(seg []byte, h *V2Header) ([]byte, error) {
	if len(seg) < V2MinSegment || len(seg)%8 != 0 {
		return nil, fmt.Errorf("%w: v2 segment of %d bytes (multiple of 8, minimum %d)", ErrSegmentSize, len(seg), V2MinSegment)
	}
	if seg[0]&0xf != 2 {
		return nil, fmt.Errorf("%w: v2 byte 0 is %#02x", ErrVersion, seg[0])
	}
	t := seg[len(seg)-V2TailSize:]
	if t[2] < 1 || t[2] > 8 {
		return nil, fmt.Errorf("%w: %d", ErrLast, t[2])
	}
	h.CRCOn = seg[0]&0x20 != 0
	h.FirstUser, h.TDest, h.TID = seg[1], seg[2], seg[3]
	h.Segment = binary.LittleEndian.Uint16(seg[4:])
	h.SOF = seg[7]&0x80 != 0
	h.LastUser, h.EOF, h.Last = t[0], t[1]&1 != 0, t[2]
	h.CRC = binary.BigEndian.Uint32(t[4:])
	end := len(seg) - V2TailSize - 8 + int(h.Last)
	return seg[V2HeaderSize:end], nil
}

// CheckV2CRC verifies seg's CRC chained from prev (0 at a frame's first
// segment) and returns the value to chain the next segment from.
func CheckV2CRC(seg []byte, prev uint32) (uint32, error) {
	got := binary.BigEndian.Uint32(seg[len(seg)-4:])
	sum := crc32.Update(prev, crc32.IEEETable, seg[:len(seg)-4])
	if sum != got {
		return sum, fmt.Errorf("%w: got %#08x, computed %#08x", ErrCRC, got, sum)
	}
	return sum, nil
}

// DataPerSegment is how many frame bytes one segment carries when the
// packetizer may use room bytes per datagram: the room left by header and
// tail, rounded down to 8 (Rogue aligns the data area). It is 0 when room
// is too small for the layout.
func DataPerSegment(version, room int) int {
	over := V1HeaderSize + V1TailSize
	if version == 2 {
		over = V2HeaderSize + V2TailSize
	}
	if room-over < 8 {
		return 0
	}
	return (room - over) &^ 7
}
