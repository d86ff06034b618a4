package mmsg

import (
	"encoding/binary"
	"unsafe"
)

// Control messages in the Linux layout, walked and written in place: the x/sys
// parser allocates a slice per call, which the receive path cannot afford.
//
//	struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }
//
// followed by the data; every message starts at a multiple of sizeof(long).
const (
	cmsgAlign  = int(unsafe.Sizeof(uintptr(0)))
	cmsgHdrLen = (cmsgAlign + 8 + cmsgAlign - 1) &^ (cmsgAlign - 1)
)

// cmsgAlignUp rounds n up to the control-message alignment (CMSG_ALIGN).
func cmsgAlignUp(n int) int {
	return (n + cmsgAlign - 1) &^ (cmsgAlign - 1)
}

// cmsgSpace is CMSG_SPACE: the room one control message with dataLen bytes
// of data takes in a buffer, padding included.
func cmsgSpace(dataLen int) int {
	return cmsgHdrLen + cmsgAlignUp(dataLen)
}

// cmsgLen is CMSG_LEN: the value of cmsg_len for dataLen bytes of data.
func cmsgLen(dataLen int) int {
	return cmsgHdrLen + dataLen
}

// cmsgReader walks the control messages of one received datagram.
type cmsgReader struct {
	b []byte
}

// next returns the next control message. It stops (ok false) at the end of
// the buffer and at the first malformed header, so a truncated control
// buffer (MSG_CTRUNC) yields the complete messages before the cut.
func (r *cmsgReader) next() (level, typ int32, data []byte, ok bool) {
	if len(r.b) < cmsgHdrLen {
		return 0, 0, nil, false
	}
	var l uint64
	if cmsgAlign == 8 {
		l = binary.NativeEndian.Uint64(r.b)
	} else {
		l = uint64(binary.NativeEndian.Uint32(r.b))
	}
	if l < uint64(cmsgHdrLen) || l > uint64(len(r.b)) {
		r.b = nil
		return 0, 0, nil, false
	}
	level = int32(binary.NativeEndian.Uint32(r.b[cmsgAlign:]))
	typ = int32(binary.NativeEndian.Uint32(r.b[cmsgAlign+4:]))
	data = r.b[cmsgHdrLen:l]
	r.b = r.b[min(cmsgAlignUp(int(l)), len(r.b)):]
	return level, typ, data, true
}

// putCmsg writes a control-message header for dataLen bytes of data at the
// start of b and returns the data area. b must hold cmsgSpace(dataLen) bytes.
func putCmsg(b []byte, level, typ int32, dataLen int) []byte {
	l := cmsgLen(dataLen)
	if cmsgAlign == 8 {
		binary.NativeEndian.PutUint64(b, uint64(l))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(l))
	}
	binary.NativeEndian.PutUint32(b[cmsgAlign:], uint32(level))
	binary.NativeEndian.PutUint32(b[cmsgAlign+4:], uint32(typ))
	return b[cmsgHdrLen:l]
}
