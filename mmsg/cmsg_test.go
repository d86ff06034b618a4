package mmsg

import (
	"encoding/binary"
	"testing"
)

func TestCmsgSizes(t *testing.T) {
	// Linux CMSG_LEN/CMSG_SPACE on 64-bit and 32-bit targets.
	switch cmsgAlign {
	case 8:
		if cmsgLen(4) != 20 || cmsgSpace(4) != 24 || cmsgSpace(2) != 24 || cmsgSpace(16) != 32 {
			t.Errorf("64-bit sizes: len(4)=%d space(4)=%d space(2)=%d space(16)=%d",
				cmsgLen(4), cmsgSpace(4), cmsgSpace(2), cmsgSpace(16))
		}
	case 4:
		if cmsgLen(4) != 16 || cmsgSpace(4) != 16 || cmsgSpace(2) != 16 {
			t.Errorf("32-bit sizes: len(4)=%d space(4)=%d space(2)=%d", cmsgLen(4), cmsgSpace(4), cmsgSpace(2))
		}
	default:
		t.Fatalf("unexpected alignment %d", cmsgAlign)
	}
}

func TestCmsgWriteAndWalk(t *testing.T) {
	buf := make([]byte, cmsgSpace(4)+cmsgSpace(2)+cmsgSpace(4))
	off := 0
	d := putCmsg(buf[off:], 17, 104, 4)
	binary.NativeEndian.PutUint32(d, 1472)
	off += cmsgSpace(4)
	d = putCmsg(buf[off:], 17, 103, 2)
	binary.NativeEndian.PutUint16(d, 9000)
	off += cmsgSpace(2)
	d = putCmsg(buf[off:], 1, 40, 4)
	binary.NativeEndian.PutUint32(d, 77)
	// The kernel reports the length without the last message's padding.
	total := off + cmsgLen(4)

	r := cmsgReader{b: buf[:total]}
	type msg struct {
		level, typ int32
		val        uint32
	}
	var got []msg
	for {
		level, typ, data, ok := r.next()
		if !ok {
			break
		}
		var v uint32
		switch len(data) {
		case 4:
			v = binary.NativeEndian.Uint32(data)
		case 2:
			v = uint32(binary.NativeEndian.Uint16(data))
		default:
			t.Fatalf("data length %d", len(data))
		}
		got = append(got, msg{level, typ, v})
	}
	want := []msg{{17, 104, 1472}, {17, 103, 9000}, {1, 40, 77}}
	if len(got) != len(want) {
		t.Fatalf("walked %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestCmsgMalformed(t *testing.T) {
	buf := make([]byte, cmsgSpace(4)*2)
	putCmsg(buf, 17, 104, 4)
	// Second header claims more bytes than the buffer holds.
	d := putCmsg(buf[cmsgSpace(4):], 1, 40, 4)
	_ = d
	if cmsgAlign == 8 {
		binary.NativeEndian.PutUint64(buf[cmsgSpace(4):], 1000)
	} else {
		binary.NativeEndian.PutUint32(buf[cmsgSpace(4):], 1000)
	}
	r := cmsgReader{b: buf}
	if _, typ, _, ok := r.next(); !ok || typ != 104 {
		t.Fatalf("first message not read")
	}
	if _, _, _, ok := r.next(); ok {
		t.Error("overlong message accepted")
	}
	if _, _, _, ok := r.next(); ok {
		t.Error("walk continued after a malformed header")
	}
	// A length below the header size is malformed too.
	putCmsg(buf, 17, 104, 4)
	if cmsgAlign == 8 {
		binary.NativeEndian.PutUint64(buf, 3)
	} else {
		binary.NativeEndian.PutUint32(buf, 3)
	}
	r = cmsgReader{b: buf}
	if _, _, _, ok := r.next(); ok {
		t.Error("undersized header accepted")
	}
	// Too short to hold a header.
	r = cmsgReader{b: buf[:cmsgHdrLen-1]}
	if _, _, _, ok := r.next(); ok {
		t.Error("truncated header accepted")
	}
}
