package iperf3

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseParams(f *testing.F) {
	for _, m := range loadMessages(f) {
		if m.kind == "params" {
			f.Add([]byte(m.body))
		}
	}
	f.Add([]byte(`{"udp":true,"len":18446744073709551615}`))
	f.Add([]byte(`{"udp":true,"parallel":1e300}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseParams(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v does not match ErrProtocol", err)
			}
			return
		}
		if p.Check() != nil {
			t.Fatal("accepted params fail Check")
		}
		recv, send := p.Streams()
		if recv+send < 1 || recv+send > 2*MaxParallel {
			t.Fatalf("streams %d+%d", recv, send)
		}
	})
}

func FuzzParseResults(f *testing.F) {
	for _, m := range loadMessages(f) {
		if m.kind != "params" {
			f.Add([]byte(m.body))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResults(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v does not match ErrProtocol", err)
			}
			return
		}
		if r == nil {
			t.Fatal("nil results without error")
		}
	})
}

func FuzzReadJSON(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, '{'})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := ReadJSONBytes(bytes.NewReader(b), MaxParamsLen)
		if err == nil && (len(body) > MaxParamsLen || len(body)+4 > len(b)) {
			t.Fatalf("read %d bytes from %d", len(body), len(b))
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0, 0, 5, 0x44, 0, 0x0d, 0xc9, 0x86, 0, 0, 0, 1}, false)
	f.Add([]byte{0, 0, 5, 0x59, 0, 9, 0x29, 0xda, 0, 0, 0, 0, 0, 0, 0, 1}, true)
	f.Fuzz(func(t *testing.T, b []byte, wide bool) {
		sec, usec, count, ok := ParseHeader(b, wide)
		if ok != (len(b) >= HeaderLen(wide)) {
			t.Fatalf("ok %v for %d bytes", ok, len(b))
		}
		if !ok {
			return
		}
		out := make([]byte, HeaderLen(wide))
		PutHeader(out, sec, usec, count, wide)
		if !bytes.Equal(out, b[:HeaderLen(wide)]) {
			t.Fatalf("round trip % x -> % x", b[:HeaderLen(wide)], out)
		}
		// The receiver's accounting takes any header without panicking.
		var rx rxStream
		rx.wide, rx.running = wide, true
		rx.add(b, 1e9)
		rx.add(b, 0)
		if c := rx.counts(); c.Received != 2 {
			t.Fatalf("received %d", c.Received)
		}
	})
}
