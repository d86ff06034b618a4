package rssi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Header flag bits (byte 0 of every RSSI header).
const (
	FlagBusy uint8 = 0x01 // the sender's application queue is full
	FlagNul  uint8 = 0x08 // keep-alive; consumes a sequence number
	FlagRst  uint8 = 0x10 // reset: the sender closes the link
	FlagEack uint8 = 0x20 // extended ack: never sent, ignored on receipt
	FlagAck  uint8 = 0x40 // the acknowledge field is valid
	FlagSyn  uint8 = 0x80 // connection request (with FlagAck: its answer)
)

// Header sizes: every segment but a SYN has the short header.
const (
	HeaderSize    = 8
	SynHeaderSize = 24
)

// Errors of Decode. Each is wrapped with the offending values; match with
// errors.Is.
var (
	ErrShort     = errors.New("rssi: segment shorter than its header")
	ErrHeaderLen = errors.New("rssi: header length field does not match the segment kind")
	ErrChecksum  = errors.New("rssi: header checksum mismatch")
	ErrSynLayout = errors.New("rssi: SYN header with zero window or too small a segment size")
)

// Params are the connection parameters a SYN carries. Timeouts count in
// units of 10^-TimeoutUnit seconds (Rogue sends unit 3, milliseconds, and
// always interprets them as milliseconds).
type Params struct {
	Version        uint8  // high nibble of byte 4; Rogue sends 1
	Chk            bool   // byte 4 bit 2: checksum in use (always computed)
	MaxOutstanding uint8  // window: unacknowledged segments in flight
	MaxSegment     uint16 // whole RSSI datagram, header included
	RetranTout     uint16 // retransmission timeout
	CumAckTout     uint16 // cumulative acknowledge timeout
	NullTout       uint16 // keep-alive period is a third of it
	MaxRetran      uint8  // transmissions of one segment before reset
	MaxCumAck      uint8  // delivered segments that force an ACK
	TimeoutUnit    uint8  // 3 = milliseconds
	ConnID         uint8  // byte 18 (Rogue writes the low byte of 0x12345678)
}

// RogueDefaults returns the parameters Rogue's Controller proposes, for a
// link whose RSSI datagrams may hold maxSegment bytes (udp MaxPayload - 8:
// 1464 standard, 8964 jumbo).
func RogueDefaults(maxSegment int) Params {
	return Params{
		Version: 1, Chk: true, MaxOutstanding: 32, MaxSegment: uint16(maxSegment),
		RetranTout: 20, CumAckTout: 5, NullTout: 1000, MaxRetran: 15, MaxCumAck: 2,
		TimeoutUnit: 3, ConnID: 0x78,
	}
}

// Header is one decoded RSSI header. Params is meaningful for SYN only.
type Header struct {
	Flags    uint8
	Seq      uint8
	Ack      uint8
	Checksum uint16 // as received (Decode) or as written (Encode)
	Params   Params
}

// Len is the header's size on the wire: 24 for a SYN, 8 otherwise.
func (h *Header) Len() int {
	if h.Flags&FlagSyn != 0 {
		return SynHeaderSize
	}
	return HeaderSize
}

// Checksum is RSSI's header checksum over b (the header without its last
// two bytes): the sum of big-endian 16-bit words, folded once, inverted.
func Checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	sum = sum&0xffff + sum>>16
	return ^uint16(sum)
}

// Encode writes h into dst (at least h.Len() bytes) with its checksum, sets
// h.Checksum and returns the header length.
func (h *Header) Encode(dst []byte) (int, error) {
	n := h.Len()
	if len(dst) < n {
		return 0, fmt.Errorf("%w: %d bytes of room for a %d-byte header", ErrShort, len(dst), n)
	}
	b := dst[:n]
	clear(b)
	b[0], b[1], b[2], b[3] = h.Flags, byte(n), h.Seq, h.Ack
	if n == SynHeaderSize {
		h.Params.put(b)
	}
	h.Checksum = Checksum(b[:n-2])
	binary.BigEndian.PutUint16(b[n-2:], h.Checksum)
	return n, nil
}

func (p *Params) put(b []byte) {
	b[4] = p.Version<<4 | 0x08
	if p.Chk {
		b[4] |= 0x04
	}
	b[5] = p.MaxOutstanding
	binary.BigEndian.PutUint16(b[6:], p.MaxSegment)
	binary.BigEndian.PutUint16(b[8:], p.RetranTout)
	binary.BigEndian.PutUint16(b[10:], p.CumAckTout)
	binary.BigEndian.PutUint16(b[12:], p.NullTout)
	b[14], b[15], b[17], b[18] = p.MaxRetran, p.MaxCumAck, p.TimeoutUnit, p.ConnID
}

func (p *Params) get(b []byte) {
	p.Version = b[4] >> 4
	p.Chk = b[4]&0x04 != 0
	p.MaxOutstanding = b[5]
	p.MaxSegment = binary.BigEndian.Uint16(b[6:])
	p.RetranTout = binary.BigEndian.Uint16(b[8:])
	p.CumAckTout = binary.BigEndian.Uint16(b[10:])
	p.NullTout = binary.BigEndian.Uint16(b[12:])
	p.MaxRetran, p.MaxCumAck = b[14], b[15]
	p.TimeoutUnit, p.ConnID = b[17], b[18]
}

// Decode parses the header at the start of seg into h and returns its
// length; the payload is seg[n:]. As Rogue, it rejects a header length
// other than 24 for a SYN and 8 otherwise and a bad checksum; it also
// rejects a SYN announcing no window or a segment too small for a header,
// which no Rogue sends. It does not allocate.
func Decode(seg []byte, h *Header) (int, error) {
	if len(seg) < HeaderSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrShort, len(seg))
	}
	want := HeaderSize
	if seg[0]&FlagSyn != 0 {
		want = SynHeaderSize
	}
	if int(seg[1]) != want {
		return 0, fmt.Errorf("%w: flags %#02x, length %d, want %d", ErrHeaderLen, seg[0], seg[1], want)
	}
	if len(seg) < want {
		return 0, fmt.Errorf("%w: %d bytes, header %d", ErrShort, len(seg), want)
	}
	got := binary.BigEndian.Uint16(seg[want-2:])
	if sum := Checksum(seg[:want-2]); sum != got {
		return 0, fmt.Errorf("%w: got %#04x, computed %#04x", ErrChecksum, got, sum)
	}
	h.Flags, h.Seq, h.Ack, h.Checksum = seg[0], seg[2], seg[3], got
	h.Params = Params{}
	if want == SynHeaderSize {
		h.Params.get(seg)
		if h.Params.MaxOutstanding == 0 || h.Params.MaxSegment <= HeaderSize {
			return 0, fmt.Errorf("%w: window %d, segment %d", ErrSynLayout, h.Params.MaxOutstanding, h.Params.MaxSegment)
		}
	}
	return want, nil
}
