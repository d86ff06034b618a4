package xdp

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// refSum is the textbook RFC 1071 loop: big-endian 16-bit words, odd byte
// padded with zero, end-around carry.
func refSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestChecksumKnownValues(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want uint16
	}{
		// RFC 1071 section 3 example: sum ddf2, checksum 220d.
		{"rfc1071", mustHex("0001f203f4f5f6f7"), 0x220d},
		// A textbook IPv4 header with its checksum field zeroed.
		{"ipv4 header", mustHex("450000730000400040110000c0a80001c0a800c7"), 0xb861},
		{"empty", nil, 0xffff},
		{"one byte", []byte{0x12}, ^uint16(0x1200)},
		{"all ones", mustHex("ffffffff"), 0x0000},
	}
	for _, c := range cases {
		if got := checksum(c.data); got != c.want {
			t.Errorf("%s: %#04x, want %#04x", c.name, got, c.want)
		}
	}
	// A header with its checksum in place sums to 0xffff, checksum 0.
	if got := checksum(mustHex("45000073000040004011b861c0a80001c0a800c7")); got != 0 {
		t.Errorf("verifying header: %#04x", got)
	}
}

// TestChecksumPieces compares the wide implementation with the reference on
// random data of every small length and random splits, including splits at
// odd offsets as in multi-buffer packets.
func TestChecksumPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4200)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for n := 0; n < 300; n++ {
		if got, want := checksum(buf[:n]), ^refSum(buf[:n]); got != want {
			t.Fatalf("len %d: %#04x, want %#04x", n, got, want)
		}
	}
	for range 2000 {
		n := rng.IntN(len(buf))
		b := buf[rng.IntN(len(buf)-n):][:n]
		var c csum
		for rest := b; len(rest) > 0; {
			k := rng.IntN(len(rest) + 1)
			c.add(rest[:k])
			rest = rest[k:]
		}
		if got, want := c.fold(), refSum(b); got != want {
			t.Fatalf("pieces of %d bytes: %#04x, want %#04x", n, got, want)
		}
	}
	// Carries: all-0xff data exercises every end-around carry path.
	ff := make([]byte, 1000)
	for i := range ff {
		ff[i] = 0xff
	}
	for n := range ff {
		if got, want := checksum(ff[:n]), ^refSum(ff[:n]); got != want {
			t.Fatalf("0xff len %d: %#04x, want %#04x", n, got, want)
		}
	}
}

func BenchmarkChecksum1472(b *testing.B) {
	buf := make([]byte, 1472)
	for i := range buf {
		buf[i] = byte(i)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var s uint16
	for b.Loop() {
		s += checksum(buf)
	}
	_ = s
}
