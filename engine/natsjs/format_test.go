package natsjs

import (
	"bytes"
	"errors"
	"testing"

	"udpstream.dev/engine"
)

// oneRecord is a message written out by hand: run 0x0102030405060708, one
// record of 3 bytes "abc", flags 0xbeef, channel 7, error 2, sequence 1.
var oneRecord = []byte{
	0x55, 0x4a, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	0x03, 0x00, 0x00, 0x00, 0xef, 0xbe, 0x07, 0x02,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	'a', 'b', 'c',
}

// twoRecords: run 9, an empty record (channel 0, seq 5) and a 1-byte
// record (channel 0, flags 0x0100, seq 6).
var twoRecords = []byte{
	0x55, 0x4a, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x09, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0,
	0x01, 0, 0, 0, 0x00, 0x01, 0, 0, 0x06, 0, 0, 0, 0, 0, 0, 0,
	0xff,
}

func TestRecordsHandBytes(t *testing.T) {
	cases := []struct {
		name string
		msg  []byte
		run  uint64
		want []Record
	}{
		{"one", oneRecord, 0x0102030405060708, []Record{{Size: 3, Flags: 0xbeef, Channel: 7, Error: 2, Seq: 1, Payload: []byte("abc")}}},
		{"two", twoRecords, 9, []Record{{Seq: 5, Payload: []byte{}}, {Size: 1, Flags: 0x100, Seq: 6, Payload: []byte{0xff}}}},
		{"empty", []byte{0x55, 0x4a, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []Record
			h, err := Records(c.msg, func(r Record) error { got = append(got, r); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if h.Run != c.run || int(h.Count) != len(c.want) || len(got) != len(c.want) {
				t.Fatalf("header %+v, %d records; want run %#x, %d records", h, len(got), c.run, len(c.want))
			}
			for i := range got {
				g, w := got[i], c.want[i]
				if g.Size != w.Size || g.Flags != w.Flags || g.Channel != w.Channel || g.Error != w.Error ||
					g.Seq != w.Seq || !bytes.Equal(g.Payload, w.Payload) {
					t.Errorf("record %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestEncoderMatchesHandBytes checks both encoders (AppendRecord and the
// publisher's appendRecord from a frame) against the hand-written message.
func TestEncoderMatchesHandBytes(t *testing.T) {
	b := AppendRecord(make([]byte, MsgHeaderLen), Record{Flags: 0xbeef, Channel: 7, Error: 2, Seq: 1, Payload: []byte("abc")})
	PutHeader(b, Header{Count: 1, Run: 0x0102030405060708})
	if !bytes.Equal(b, oneRecord) {
		t.Fatalf("AppendRecord:\n got % x\nwant % x", b, oneRecord)
	}
	f, err := engine.NewPool().AcceptReq(3, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	_, _ = f.Write([]byte("abc"))
	_ = f.SetFlags(0xbeef)
	_ = f.SetChannel(7)
	_ = f.SetError(2)
	b = make([]byte, MsgHeaderLen, 64)
	if b, err = appendRecord(b, f, 3, 1); err != nil {
		t.Fatal(err)
	}
	putHeader(b, Header{Count: 1, Run: 0x0102030405060708})
	if !bytes.Equal(b, oneRecord) {
		t.Fatalf("appendRecord:\n got % x\nwant % x", b, oneRecord)
	}
}

func TestRecordsMalformed(t *testing.T) {
	mod := func(b []byte, i int, v byte) []byte { c := bytes.Clone(b); c[i] = v; return c }
	cases := map[string][]byte{
		"nil":             nil,
		"short header":    oneRecord[:15],
		"bad magic":       mod(oneRecord, 0, 'X'),
		"bad version":     mod(oneRecord, 2, 2),
		"reserved set":    mod(oneRecord, 3, 1),
		"count too high":  mod(oneRecord, 4, 2),
		"count too low":   mod(oneRecord, 4, 0),
		"cut record head": oneRecord[:20],
		"cut payload":     oneRecord[:len(oneRecord)-1],
		"trailing byte":   append(bytes.Clone(oneRecord), 0),
		"size huge":       mod(oneRecord, 19, 0xff),
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			calls := 0
			_, err := Records(msg, func(Record) error { calls++; return nil })
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if calls != 0 {
				t.Fatalf("%d records yielded from a malformed message", calls)
			}
		})
	}
}

func TestRecordsStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := Records(twoRecords, func(Record) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d calls, want stop after 1", err, n)
	}
}

// FuzzRecords: the parser never panics, yields records only from a whole
// message, and what it yields encodes back to the same bytes.
func FuzzRecords(f *testing.F) {
	f.Add(oneRecord)
	f.Add(twoRecords)
	f.Add(oneRecord[:20])
	f.Add([]byte{0x55, 0x4a, 1, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		var out []byte
		h, err := Records(msg, func(r Record) error {
			if int(r.Size) != len(r.Payload) {
				t.Fatalf("size %d, payload %d", r.Size, len(r.Payload))
			}
			if out == nil {
				out = make([]byte, MsgHeaderLen)
			}
			out = AppendRecord(out, r)
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if out == nil {
			out = make([]byte, MsgHeaderLen)
		}
		PutHeader(out, h)
		if !bytes.Equal(out, msg) {
			t.Fatalf("re-encoded message differs:\n got % x\nwant % x", out, msg)
		}
	})
}
