package rssi

import (
	"testing"
	"time"

	"udpstream.dev/engine"
)

// countSlave counts segments and signals when want have arrived.
type countSlave struct {
	n    int
	want int
	done chan struct{}
}

func (c *countSlave) AcceptFrame(engine.Frame) {
	c.n++
	if c.n == c.want {
		close(c.done)
	}
}

// Steady state through two controllers over an in-memory link: the
// allocations per segment must be 0 (-benchmem).
func BenchmarkSegments(b *testing.B) {
	p := newPair(b, stdOpts(), stdOpts(), newLossyLink(1, 0, 0, 0), newLossyLink(2, 0, 0, 0))
	p.waitOpen(b, 2*time.Second)
	warm := 1000
	cs := &countSlave{want: warm + b.N, done: make(chan struct{})}
	engine.Connect(p.server.Application(), cs)
	app := p.client.Application()
	send := func() {
		f, err := app.AcceptReq(1400, true)
		if err != nil {
			b.Fatal(err)
		}
		f.SetPayload(1400)
		app.AcceptFrame(f)
		f.Release()
	}
	for range warm {
		send()
	}
	b.SetBytes(1400)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		send()
	}
	select {
	case <-cs.done:
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d segments", cs.n, cs.want)
	}
}

// Any datagram reaching a controller is handled without panic, and one
// that fails to decode is counted as a bad header.
func FuzzReceive(f *testing.F) {
	for _, s := range []string{rogueSYN, "4008656400005a93", "c01864001c2005b80014000503e80f020003780000002f08", "1008666600008991"} {
		b := make([]byte, len(s)/2)
		for i := range b {
			b[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
		}
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, seg []byte, server bool) {
		mk := NewClient
		if server {
			mk = NewServer
		}
		c, err := mk(stdOpts())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fr, _ := engine.NewPool().AcceptReq(max(len(seg), 1), true)
		fr.WriteAt(seg, 0)
		fr.SetPayload(len(seg))
		c.Transport().AcceptFrame(fr)
		c.Transport().AcceptFrame(fr)
		fr.Release()
		var h Header
		_, derr := Decode(seg, &h)
		if s := c.Stats(); derr != nil && (s.BadHeaders != 2 || s.Drops != 2) {
			t.Fatalf("bad datagram %x not counted: %+v", seg, s)
		}
	})
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
