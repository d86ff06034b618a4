package rssi

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Rogue's SYN, as its client sends it with its defaults on a standard link.
const rogueSYN = "801864001c2005b80014000503e80f020003780000006f08"

func TestRogueSYNFromDefaults(t *testing.T) {
	h := Header{Flags: FlagSyn, Seq: 100, Params: RogueDefaults(1464)}
	b := make([]byte, SynHeaderSize)
	n, err := h.Encode(b)
	if err != nil || n != SynHeaderSize {
		t.Fatalf("Encode = %d, %v", n, err)
	}
	want, _ := hex.DecodeString(rogueSYN)
	if !bytes.Equal(b, want) {
		t.Fatalf("SYN\n got %x\nwant %x", b, want)
	}
	for i := range want {
		if b[i] != want[i] {
			t.Errorf("byte %d: %#02x, want %#02x", i, b[i], want[i])
		}
	}
}

// Checksums worked out by hand: sum the big-endian words before the
// checksum field, add the carry back once, invert.
func TestChecksumHandComputed(t *testing.T) {
	for _, c := range []struct {
		name string
		h    Header
		want string
	}{
		// 0x4008 + 0x6564 + 0x0000 = 0xa56c; ^0xa56c = 0x5a93.
		{"ack", Header{Flags: FlagAck, Seq: 101, Ack: 100}, "4008656400005a93"},
		// 0x4808 + 0x6566 = 0xad6e; ^ = 0x5291.
		{"nul", Header{Flags: FlagAck | FlagNul, Seq: 101, Ack: 102}, "4808656600005291"},
		// 0x1008 + 0x6666 = 0x766e; ^ = 0x8991.
		{"rst", Header{Flags: FlagRst, Seq: 102, Ack: 102}, "1008666600008991"},
		// 0x4108 + 0x6500 = 0xa608; ^ = 0x59f7.
		{"busy", Header{Flags: FlagAck | FlagBusy, Seq: 101}, "41086500000059f7"},
		// 0x7f08 + 0xffff = 0x17f07 -> 0x7f07 + 1 = 0x7f08; ^ = 0x80f7.
		{"carry", Header{Flags: 0xff &^ FlagSyn, Seq: 0xff, Ack: 0xff}, "7f08ffff000080f7"},
	} {
		b := make([]byte, HeaderSize)
		if _, err := c.h.Encode(b); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		var back Header
		if n, err := Decode(b, &back); err != nil || n != HeaderSize || back.Flags != c.h.Flags || back.Seq != c.h.Seq || back.Ack != c.h.Ack {
			t.Errorf("%s: Decode = %d %v %+v", c.name, n, err, back)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := hex.DecodeString("4008656400005a93")
	syn, _ := hex.DecodeString(rogueSYN)
	mut := func(b []byte, i int, v byte) []byte { c := bytes.Clone(b); c[i] = v; return c }
	for _, c := range []struct {
		name string
		seg  []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"seven", good[:7], ErrShort},
		{"hlen24 on ack", mut(good, 1, 24), ErrHeaderLen},
		{"hlen8 on syn", mut(syn, 1, 8), ErrHeaderLen},
		{"short syn", syn[:20], ErrShort},
		{"checksum", mut(good, 7, 0x94), ErrChecksum},
		{"flipped seq", mut(good, 2, 0x66), ErrChecksum},
		{"syn zero window", fixSum(mut(syn, 5, 0)), ErrSynLayout},
		{"syn segment 8", fixSum(mut(mut(syn, 6, 0), 7, 8)), ErrSynLayout},
	} {
		var h Header
		if _, err := Decode(c.seg, &h); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// fixSum rewrites a header's checksum so that only its other fields are
// wrong.
func fixSum(b []byte) []byte {
	n := int(b[1])
	s := Checksum(b[:n-2])
	b[n-2], b[n-1] = byte(s>>8), byte(s)
	return b
}

type vectorFile struct {
	Vectors []struct {
		Name string `json:"name"`
		Hex  string `json:"hex"`
		RSSI struct {
			Syn, Ack, Eack, Rst, Nul, Busy bool
			Hlen                           int    `json:"hlen"`
			Seq                            uint8  `json:"seq"`
			AckNo                          uint8  `json:"ack_no"`
			Checksum                       uint16 `json:"checksum"`
			Version                        uint8  `json:"version"`
			Chk                            bool   `json:"chk"`
			MaxOutstanding                 uint8  `json:"max_outstanding"`
			MaxSegment                     uint16 `json:"max_segment"`
			RetranTout                     uint16 `json:"retran_tout"`
			CumAckTout                     uint16 `json:"cum_ack_tout"`
			NullTout                       uint16 `json:"null_tout"`
			MaxRetran                      uint8  `json:"max_retran"`
			MaxCumAck                      uint8  `json:"max_cum_ack"`
			TimeoutUnit                    uint8  `json:"timeout_unit"`
			ConnID                         uint8  `json:"conn_id"`
			Payload                        int    `json:"payload"`
		} `json:"rssi"`
	} `json:"vectors"`
}

// Every datagram Rogue sent in the vectors decodes to the recorded fields,
// and encoding those fields gives back Rogue's header bytes.
func TestRogueVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) < 20 {
		t.Fatalf("only %d vectors", len(vf.Vectors))
	}
	for _, v := range vf.Vectors {
		seg, _ := hex.DecodeString(v.Hex)
		var h Header
		n, err := Decode(seg, &h)
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		r := v.RSSI
		flags := bits(r.Syn, FlagSyn) | bits(r.Ack, FlagAck) | bits(r.Eack, FlagEack) | bits(r.Rst, FlagRst) | bits(r.Nul, FlagNul) | bits(r.Busy, FlagBusy)
		if n != r.Hlen || h.Flags != flags || h.Seq != r.Seq || h.Ack != r.AckNo || h.Checksum != r.Checksum || len(seg)-n != r.Payload {
			t.Errorf("%s: decoded %d %+v, recorded %+v", v.Name, n, h, r)
		}
		if r.Syn {
			want := Params{Version: r.Version, Chk: r.Chk, MaxOutstanding: r.MaxOutstanding, MaxSegment: r.MaxSegment,
				RetranTout: r.RetranTout, CumAckTout: r.CumAckTout, NullTout: r.NullTout, MaxRetran: r.MaxRetran,
				MaxCumAck: r.MaxCumAck, TimeoutUnit: r.TimeoutUnit, ConnID: r.ConnID}
			if h.Params != want {
				t.Errorf("%s: params %+v, recorded %+v", v.Name, h.Params, want)
			}
		}
		re := Header{Flags: h.Flags, Seq: h.Seq, Ack: h.Ack, Params: h.Params}
		out := make([]byte, n)
		if _, err := re.Encode(out); err != nil || !bytes.Equal(out, seg[:n]) {
			t.Errorf("%s: rebuilt %x, Rogue sent %x (%v)", v.Name, out, seg[:n], err)
		}
	}
}

func bits(on bool, f uint8) uint8 {
	if on {
		return f
	}
	return 0
}

// Every datagram of every captured exchange passes Decode.
func TestRogueStreams(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream-*.txt")
	if len(files) < 4 {
		t.Fatalf("stream files: %v", files)
	}
	for _, name := range files {
		for _, seg := range readStream(t, name) {
			var h Header
			if _, err := Decode(seg.data, &h); err != nil {
				t.Errorf("%s: %x: %v", name, seg.data, err)
			}
		}
	}
}

type streamSeg struct {
	dir  string
	data []byte
}

// readStream returns a stream file's datagrams in order.
func readStream(t testing.TB, name string) []streamSeg {
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []streamSeg
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		b, err := hex.DecodeString(fs[3])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, streamSeg{fs[1], b})
	}
	return out
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{rogueSYN, "4008656400005a93", "41086500000059f7", "1008666600008991", "4808656600005291ffff"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, seg []byte) {
		var h Header
		n, err := Decode(seg, &h)
		if err != nil {
			if n != 0 {
				t.Fatalf("error with length %d", n)
			}
			return
		}
		if n != h.Len() || n > len(seg) {
			t.Fatalf("length %d for %+v in %d bytes", n, h, len(seg))
		}
		out := make([]byte, n)
		re := Header{Flags: h.Flags, Seq: h.Seq, Ack: h.Ack, Params: h.Params}
		if _, err := re.Encode(out); err != nil {
			t.Fatal(err)
		}
		var back Header
		if _, err := Decode(out, &back); err != nil || back != re {
			t.Fatalf("round trip %+v -> %+v (%v)", re, back, err)
		}
	})
}
