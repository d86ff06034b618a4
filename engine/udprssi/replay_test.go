package udprssi_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/packetizer"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/rssi"
	"udpstream.dev/internal/testutils"
)

// The captured exchanges between two Rogue v6.15 stacks (the rssi
// package's testdata).
const captures = "../rssi/testdata/"

type datagram struct {
	dir  string
	data []byte
}

func readCapture(t *testing.T, name string) []datagram {
	f, err := os.Open(captures + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []datagram
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 4 && !strings.HasPrefix(fs[0], "#") {
			b, _ := hex.DecodeString(fs[3])
			out = append(out, datagram{fs[1], b})
		}
	}
	return out
}

// recorder stands for the UDP endpoint: it keeps copies of what the
// controller sends.
type recorder struct {
	mu   sync.Mutex
	got  [][]byte
	pool *engine.Pool
}

func newRecorder() *recorder {
	p, _ := engine.NewFixedPool(1472, 64, 0)
	return &recorder{pool: p}
}

func (r *recorder) AcceptReq(n int, zc bool) (engine.Frame, error) { return r.pool.AcceptReq(n, zc) }
func (r *recorder) AcceptFrame(f engine.Frame) {
	b, _ := f.Bytes()
	r.mu.Lock()
	r.got = append(r.got, bytes.Clone(b))
	r.mu.Unlock()
}

func (r *recorder) sent() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...)
}

func inject(c *rssi.Controller, b []byte) {
	f, _ := engine.NewPool().AcceptReq(len(b), true)
	f.WriteAt(b, 0)
	c.Transport().AcceptFrame(f)
	f.Release()
}

type replayCase struct {
	file   string
	opts   packetizer.Options
	dest   uint8
	frames [][]byte
}

func replayCases() []replayCase {
	pattern := func(n, dest int) []byte { // sequence 0 of the capture's byte pattern
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(13*i + 101*dest)
		}
		return b
	}
	pr := func(n int, seq uint32) []byte { b := make([]byte, n); prbs.Fill(b, seq, 32); return b }
	v2 := packetizer.Options{Version: 2, SSI: true, InboundCRC: true, OutboundCRC: true}
	busy := make([][]byte, 24)
	for i := range busy {
		busy[i] = pr(64, uint32(i))
	}
	return []replayCase{
		{"stream-data-v1-std.txt", packetizer.Options{Version: 1, SSI: true}, 0, [][]byte{pr(3000, 0), pr(12, 1), pattern(5, 0)}},
		{"stream-data-v2-std.txt", v2, 1, [][]byte{pr(3004, 0), pr(12, 1), pattern(13, 1)}},
		{"stream-busy-v2-std.txt", v2, 0, busy},
	}
}

// Rogue's client datagrams, replayed into our server stack: the server
// answers with Rogue's SYN+ACK and delivers every frame once, intact
// (the busy capture includes Rogue's retransmissions).
func TestReplayRogueClient(t *testing.T) {
	for _, c := range replayCases() {
		t.Run(c.file, func(t *testing.T) {
			testutils.Leak(t)
			srv, _ := rssi.NewServer(rssi.Options{MaxSegment: 1464})
			defer srv.Close()
			rec := newRecorder()
			engine.Connect(srv.Transport(), rec)
			pk, _ := packetizer.New(c.opts)
			engine.Connect(srv.Application(), pk.Transport())
			engine.Connect(pk.Transport(), srv.Application())
			got := make(chan []byte, 64)
			engine.Connect(pk.Application(c.dest), engine.SlaveFunc(func(f engine.Frame) {
				b := make([]byte, f.Payload())
				f.ReadAt(b, 0)
				got <- b
			}))
			var synAck []byte
			for _, d := range readCapture(t, c.file) {
				if d.dir == "c2s" && d.data[0]&rssi.FlagRst == 0 { // the close: not replayed, it would flush the queue
					inject(srv, d.data)
				} else if d.dir == "s2c" && synAck == nil {
					synAck = d.data
				}
			}
			for i, want := range c.frames {
				select {
				case b := <-got:
					if !bytes.Equal(b, want) {
						t.Fatalf("frame %d: %d bytes, want %d", i, len(b), len(want))
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("frame %d missing; %+v %+v", i, srv.Stats(), pk.Stats())
				}
			}
			sent := rec.sent()
			if len(sent) == 0 {
				t.Fatal("the server sent nothing")
			}
			if !bytes.Equal(sent[0], synAck) {
				t.Fatalf("first datagram %x, Rogue's server sent %x", sent[0], synAck)
			}
		})
	}
}

// Our client against Rogue's server datagrams: its SYN is Rogue's, it
// accepts Rogue's SYN+ACK, and the same frames leave as Rogue's client
// sent them, RSSI header and all, byte for byte.
func TestReplayRogueServer(t *testing.T) {
	for _, c := range replayCases()[:2] {
		t.Run(c.file, func(t *testing.T) {
			testutils.Leak(t)
			// One SYN even on a loaded machine: a retry takes the next
			// sequence, and every datagram after it differs from Rogue's.
			cl, _ := rssi.NewClient(rssi.Options{MaxSegment: 1464, TryPeriod: time.Second})
			defer cl.Close()
			pk, _ := packetizer.New(c.opts)
			engine.Connect(cl.Application(), pk.Transport())
			engine.Connect(pk.Transport(), cl.Application())
			rec := newRecorder()
			engine.Connect(cl.Transport(), rec) // the client sends its SYN
			capture := readCapture(t, c.file)
			var rogueC2S [][]byte
			for _, d := range capture {
				if d.dir == "c2s" {
					rogueC2S = append(rogueC2S, d.data)
				}
			}
			testutils.Eventually(t, time.Second, "SYN", func() bool { return len(rec.sent()) > 0 })
			inject(cl, capture[1].data) // Rogue's SYN+ACK
			testutils.Eventually(t, time.Second, "open", cl.IsOpen)
			for _, fr := range c.frames {
				f, _ := engine.NewPool().AcceptReq(len(fr), true)
				f.WriteAt(fr, 0)
				pk.Application(c.dest).AcceptFrame(f)
				f.Release()
			}
			sent := firstSends(rec.sent())
			n := 2 + 5 // SYN, ACK, five data segments
			if len(sent) < n {
				t.Fatalf("%d datagrams sent", len(sent))
			}
			for i := range n {
				if !bytes.Equal(sent[i], rogueC2S[i]) {
					t.Errorf("datagram %d:\n ours  %x\n Rogue %x", i, sent[i][:min(len(sent[i]), 32)], rogueC2S[i][:min(len(rogueC2S[i]), 32)])
				}
			}
		})
	}
}

// firstSends drops retransmissions (a data datagram whose sequence went
// out before): the replayed server never acknowledges, so on a loaded
// machine the 20 ms timer can fire before the last frame is sent.
func firstSends(sent [][]byte) [][]byte {
	var out [][]byte
	var seen [256]bool
	for _, d := range sent {
		if len(d) > rssi.HeaderSize && d[0]&rssi.FlagSyn == 0 {
			if seen[d[2]] {
				continue
			}
			seen[d[2]] = true
		}
		out = append(out, d)
	}
	return out
}
