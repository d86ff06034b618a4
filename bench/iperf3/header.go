package iperf3

import "encoding/binary"

// The 4-byte UDP connect handshake as iperf3 3.12 puts it on the wire from
// a little-endian host (the int 0x36373839 written in host order).
var (
	ConnectMsg         = [4]byte{0x39, 0x38, 0x37, 0x36} // client -> server, "9876"
	ConnectReply       = [4]byte{0x36, 0x37, 0x38, 0x39} // server -> client, "6789"
	ConnectReplyLegacy = [4]byte{0xb1, 0x68, 0xde, 0x3a} // 987654321, older servers
)

// IsConnectMsg reports whether b is a client's connect datagram: "9876"
// as little-endian hosts send it, or "6789" from a big-endian 3.12 client.
// (iperf3 takes any 4 bytes; a server serving several clients at once
// checks them, so that stray datagrams cannot take a stream's place.)
func IsConnectMsg(b []byte) bool {
	return len(b) == 4 && ([4]byte(b) == ConnectMsg || [4]byte(b) == ConnectReply)
}

// IsConnectReply reports whether b is a reply a client accepts.
func IsConnectReply(b []byte) bool {
	return len(b) == 4 && ([4]byte(b) == ConnectReply || [4]byte(b) == ConnectReplyLegacy)
}

// HeaderLen is the data header's size: sec, usec and a 32-bit counter, or
// a 64-bit counter with --udp-counters-64bit.
func HeaderLen(wide bool) int {
	if wide {
		return 16
	}
	return 12
}

// PutHeader writes a data header at the start of b, which must hold
// HeaderLen(wide) bytes. A 32-bit counter keeps the low 32 bits.
func PutHeader(b []byte, sec, usec uint32, count uint64, wide bool) {
	binary.BigEndian.PutUint32(b[0:4], sec)
	binary.BigEndian.PutUint32(b[4:8], usec)
	if wide {
		binary.BigEndian.PutUint64(b[8:16], count)
		return
	}
	binary.BigEndian.PutUint32(b[8:12], uint32(count))
}

// ParseHeader reads a data header; ok is false when b is too short.
func ParseHeader(b []byte, wide bool) (sec, usec uint32, count uint64, ok bool) {
	if len(b) < HeaderLen(wide) {
		return 0, 0, 0, false
	}
	sec = binary.BigEndian.Uint32(b[0:4])
	usec = binary.BigEndian.Uint32(b[4:8])
	if wide {
		count = binary.BigEndian.Uint64(b[8:16])
	} else {
		count = uint64(binary.BigEndian.Uint32(b[8:12]))
	}
	return sec, usec, count, true
}

// StreamID is the id of the i-th stream created (from 0): iperf3 numbers
// them 1, 3, 4, 5, ...
func StreamID(i int) int {
	if i == 0 {
		return 1
	}
	return i + 2
}
