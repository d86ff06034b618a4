package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestMagicSpellsName(t *testing.T) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], Magic)
	if string(b[:7]) != "udpperf" || b[7] != 1 {
		t.Fatalf("magic bytes %q", b[:])
	}
	// Neither a plausible sequence number nor a plausible PRBS size word.
	if Magic < 1<<56 {
		t.Fatalf("magic %#x could be reached by a sequence counter", Magic)
	}
	if words := binary.LittleEndian.Uint32(b[4:]); (uint64(words)+1)*4 < 1<<20 {
		t.Fatalf("magic read as a PRBS size word gives a plausible frame of %d bytes", (words+1)*4)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	m := Message{Type: TypeEnd, Session: 0xdeadbeef01, A: 12345, B: 999999, Body: []byte(`{"x":1}`)}
	b := Encode(nil, m)
	if !IsControl(b) {
		t.Fatal("encoded message not recognised as control")
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != m.Type || got.Session != m.Session || got.A != m.A || got.B != m.B || !bytes.Equal(got.Body, m.Body) {
		t.Fatalf("round trip: got %+v want %+v", got, m)
	}
}

func TestPutMatchesEncode(t *testing.T) {
	m := Message{Type: TypePing, Session: 7, A: 8, B: 9}
	b := make([]byte, 64)
	for i := range b {
		b[i] = 0xaa
	}
	if err := Put(b, m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:HeaderLen], Encode(nil, m)) {
		t.Fatalf("Put header differs from Encode")
	}
	if b[HeaderLen] != 0xaa {
		t.Fatal("Put wrote past the header")
	}
	if err := Put(b[:HeaderLen-1], m); err == nil {
		t.Fatal("Put into a short buffer succeeded")
	}
}

func TestDecodeRejects(t *testing.T) {
	data := make([]byte, 100)
	PutSeq(data, 42)
	if _, err := Decode(data); !errors.Is(err, ErrNotControl) {
		t.Fatalf("data datagram: err %v", err)
	}
	short := Encode(nil, Message{Type: TypeHello})[:20]
	if _, err := Decode(short); err == nil || errors.Is(err, ErrNotControl) {
		t.Fatalf("truncated control message: err %v", err)
	}
	if IsControl([]byte{1, 2, 3}) {
		t.Fatal("3 bytes recognised as control")
	}
}

func TestSeq(t *testing.T) {
	b := make([]byte, 16)
	PutSeq(b, 1<<40+3)
	if s, ok := Seq(b); !ok || s != 1<<40+3 {
		t.Fatalf("Seq = %d, %v", s, ok)
	}
	if _, ok := Seq(b[:7]); ok {
		t.Fatal("Seq on 7 bytes succeeded")
	}
	binary.LittleEndian.PutUint32(b, 77)
	if s, ok := PRBSSeq(b); !ok || s != 77 {
		t.Fatalf("PRBSSeq = %d, %v", s, ok)
	}
	if _, ok := PRBSSeq(b[:3]); ok {
		t.Fatal("PRBSSeq on 3 bytes succeeded")
	}
	for _, typ := range []Type{TypeHello, TypeWelcome, TypeEnd, TypeResult, TypePing, 99} {
		if typ.String() == "" {
			t.Fatalf("type %d has no name", typ)
		}
	}
}

func TestSendTime(t *testing.T) {
	b := make([]byte, StampedLen)
	PutSeq(b, 5)
	PutSendTime(b, 1_795_000_000_123_456_789)
	if s, _ := Seq(b); s != 5 {
		t.Fatalf("the send time overwrote the sequence number: %d", s)
	}
	if ns, ok := SendTime(b); !ok || ns != 1_795_000_000_123_456_789 {
		t.Fatalf("SendTime = %d, %v", ns, ok)
	}
	if _, ok := SendTime(b[:StampedLen-1]); ok {
		t.Fatal("SendTime on a short datagram succeeded")
	}
}
