package packetizer

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// wire collects the segments a packetizer sends, as copies.
type wire struct {
	mu   sync.Mutex
	segs [][]byte
	room int
	pool *engine.Pool
}

func newWire(room int) *wire {
	pool, _ := engine.NewFixedPool(room, 64, 0)
	return &wire{room: room, pool: pool}
}

func (w *wire) MaxPayload() int { return w.room }
func (w *wire) AcceptReq(size int, zc bool) (engine.Frame, error) {
	return w.pool.AcceptReq(size, zc)
}
func (w *wire) AcceptFrame(f engine.Frame) {
	b, err := f.Bytes()
	if err != nil {
		panic(err)
	}
	w.mu.Lock()
	w.segs = append(w.segs, bytes.Clone(b))
	w.mu.Unlock()
}

// feed hands raw segments to a packetizer's transport side.
func feed(p *Packetizer, segs [][]byte) {
	for _, b := range segs {
		f, _ := engine.NewPool().AcceptReq(len(b), true)
		f.WriteAt(b, 0)
		p.Transport().AcceptFrame(f)
		f.Release()
	}
}

// sink records the frames a port emits.
type sink struct {
	mu     sync.Mutex
	frames [][]byte
	errs   []uint8
	first  []uint8
}

func (s *sink) AcceptFrame(f engine.Frame) {
	b := make([]byte, f.Payload())
	f.ReadAt(b, 0)
	s.mu.Lock()
	s.frames = append(s.frames, b)
	s.errs = append(s.errs, f.Error())
	s.first = append(s.first, f.FirstUser())
	s.mu.Unlock()
}

func newPk(t testing.TB, o Options) *Packetizer {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sendBytes(t testing.TB, p *Packetizer, dest uint8, b []byte) {
	t.Helper()
	f, _ := engine.NewPool().AcceptReq(len(b), true)
	f.WriteAt(b, 0)
	p.Application(dest).AcceptFrame(f)
	if f.Error() != 0 {
		t.Fatalf("frame of %d bytes refused", len(b))
	}
	f.Release()
}

// frameBytes makes the captured frames: Rogue's PRBS or the byte pattern
// of the vectors' README.
func prbsFrame(t testing.TB, size int, seq uint32) []byte {
	b := make([]byte, size)
	if err := prbs.Fill(b, seq, 32); err != nil {
		t.Fatal(err)
	}
	return b
}

func patternFrame(size int, q, dest int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(q + 13*i + 101*dest)
	}
	return b
}

// rogueSegments reads the client's packetizer segments of a captured
// exchange (RSSI header removed).
func rogueSegments(t testing.TB, name string) [][]byte {
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || fs[1] != "c2s" {
			continue
		}
		b, _ := hex.DecodeString(fs[3])
		if len(b) > 8 && b[1] == 8 { // data segment of a short header
			out = append(out, b[8:])
		}
	}
	return out
}

// Sending the captured frames gives Rogue's segments byte for byte, and
// receiving Rogue's segments gives the frames back.
func TestRogueCapture(t *testing.T) {
	for _, c := range []struct {
		file   string
		opts   Options
		dest   uint8
		frames [][]byte
	}{
		{"stream-data-v1-std.txt", Options{Version: 1, SSI: true}, 0,
			[][]byte{prbsFrame(t, 3000, 0), prbsFrame(t, 12, 1), patternFrame(5, 0, 0)}},
		{"stream-data-v2-std.txt", Options{Version: 2, SSI: true, InboundCRC: true, OutboundCRC: true}, 1,
			[][]byte{prbsFrame(t, 3004, 0), prbsFrame(t, 12, 1), patternFrame(13, 0, 1)}},
	} {
		t.Run(c.file, func(t *testing.T) {
			rogue := rogueSegments(t, c.file)
			tx := newPk(t, c.opts)
			w := newWire(1464 - 8)
			engine.Connect(tx.Transport(), w)
			for _, fr := range c.frames {
				sendBytes(t, tx, c.dest, fr)
			}
			if len(w.segs) != len(rogue) {
				t.Fatalf("%d segments, Rogue sent %d", len(w.segs), len(rogue))
			}
			for i := range rogue {
				if !bytes.Equal(w.segs[i], rogue[i]) {
					t.Errorf("segment %d differs:\n ours  %x\n Rogue %x", i, head(w.segs[i]), head(rogue[i]))
				}
			}
			rx := newPk(t, c.opts)
			s := &sink{}
			engine.Connect(rx.Application(c.dest), s)
			feed(rx, rogue)
			if len(s.frames) != len(c.frames) {
				t.Fatalf("%d frames, want %d; %+v", len(s.frames), len(c.frames), rx.Stats())
			}
			for i, fr := range c.frames {
				if !bytes.Equal(s.frames[i], fr) || s.errs[i] != 0 || s.first[i] != 0x02 {
					t.Errorf("frame %d: %d bytes err %#x first %#x", i, len(s.frames[i]), s.errs[i], s.first[i])
				}
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 24)] }

// Frames of every size up to many segments, on 4 tDests, come back whole;
// version 2 reassembles segments of 4 frames interleaved.
func TestRoundTrip(t *testing.T) {
	sizes := []int{1, 7, 8, 9, 1439, 1440, 1441, 2880, 3001, 100000}
	for _, o := range []Options{{Version: 1, SSI: true}, {Version: 2, SSI: true, InboundCRC: true, OutboundCRC: true}, {Version: 2}} {
		t.Run(fmt.Sprintf("v%d-crc%v", o.Version, o.OutboundCRC), func(t *testing.T) {
			tx, rx := newPk(t, o), newPk(t, o)
			w := newWire(1456)
			engine.Connect(tx.Transport(), w)
			sinks := make([]*sink, 4)
			for d := range 4 {
				sinks[d] = &sink{}
				engine.Connect(rx.Application(uint8(d)), sinks[d])
			}
			for i, n := range sizes {
				for d := range 4 {
					sendBytes(t, tx, uint8(d), patternFrame(n, i, d))
				}
			}
			segs := w.segs
			if o.Version == 2 {
				segs = interleave(segs)
			}
			feed(rx, segs)
			for d := range 4 {
				if len(sinks[d].frames) != len(sizes) {
					t.Fatalf("tDest %d: %d frames; %+v", d, len(sinks[d].frames), rx.Stats())
				}
				for i, n := range sizes {
					if !bytes.Equal(sinks[d].frames[i], patternFrame(n, i, d)) {
						t.Errorf("tDest %d frame %d (%d bytes) differs", d, i, n)
					}
				}
			}
			if s := rx.Stats(); s.BadSegments+s.CRCErrors+s.SequenceErrors+s.MissingEOF != 0 {
				t.Errorf("errors %+v", s)
			}
		})
	}
}

// interleave reorders v2 segments across tDests, keeping each tDest's
// order: round robin over the tDests' queues.
func interleave(segs [][]byte) [][]byte {
	q := map[byte][][]byte{}
	var order []byte
	for _, s := range segs {
		if _, ok := q[s[2]]; !ok {
			order = append(order, s[2])
		}
		q[s[2]] = append(q[s[2]], s)
	}
	var out [][]byte
	for len(out) < len(segs) {
		for _, d := range order {
			if len(q[d]) > 0 {
				out = append(out, q[d][0])
				q[d] = q[d][1:]
			}
		}
	}
	return out
}

// Damaged input: each fault is counted and the frame it hit dropped;
// the next good frame arrives.
func TestReceiveFaults(t *testing.T) {
	o := Options{Version: 2, SSI: true, InboundCRC: true, OutboundCRC: true}
	tx := newPk(t, o)
	w := newWire(1456)
	engine.Connect(tx.Transport(), w)
	a, b := patternFrame(3000, 1, 0), patternFrame(3000, 2, 0)
	sendBytes(t, tx, 0, a) // segments 0..2
	sendBytes(t, tx, 0, b) // segments 3..5
	good := w.segs
	bad := bytes.Clone(good[1])
	bad[20] ^= 0xff
	for _, c := range []struct {
		name  string
		segs  [][]byte
		stat  func(Stats) uint64
		noCRC bool // with the CRC, a gap is a CRC error
	}{
		{"crc", [][]byte{good[0], bad, good[2], good[3], good[4], good[5]}, func(s Stats) uint64 { return s.CRCErrors }, false},
		{"gap", [][]byte{good[0], good[2], good[3], good[4], good[5]}, func(s Stats) uint64 { return s.SequenceErrors }, true},
		{"missing eof", [][]byte{good[0], good[1], good[3], good[4], good[5]}, func(s Stats) uint64 { return s.MissingEOF }, false},
		{"garbage", [][]byte{good[0][:20], {0x21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, good[3], good[4], good[5]}, func(s Stats) uint64 { return s.BadSegments }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ro := o
			ro.InboundCRC = !c.noCRC
			rx := newPk(t, ro)
			s := &sink{}
			engine.Connect(rx.Application(0), s)
			feed(rx, c.segs)
			if len(s.frames) != 1 || !bytes.Equal(s.frames[0], b) {
				t.Fatalf("%d frames; %+v", len(s.frames), rx.Stats())
			}
			if c.stat(rx.Stats()) == 0 {
				t.Fatalf("fault not counted: %+v", rx.Stats())
			}
		})
	}
}

// SSI EOFE in the last segment's tUserLast flags the frame (v1 and v2).
func TestEOFE(t *testing.T) {
	for _, v := range []int{1, 2} {
		o := Options{Version: v, SSI: true}
		tx, rx := newPk(t, o), newPk(t, o)
		w := newWire(1456)
		engine.Connect(tx.Transport(), w)
		f, _ := engine.NewPool().AcceptReq(2000, true)
		f.SetPayload(2000)
		f.SetError(0x10)
		tx.Application(3).AcceptFrame(f)
		f.Release()
		s := &sink{}
		engine.Connect(rx.Application(3), s)
		feed(rx, w.segs)
		if len(s.frames) != 1 || s.errs[0] != ErrorEOFE || rx.Stats().EOFEFrames != 1 {
			t.Fatalf("v%d: frames %d errs %v %+v", v, len(s.frames), s.errs, rx.Stats())
		}
	}
}

func TestSendRefused(t *testing.T) {
	p := newPk(t, Options{Version: 1})
	f, _ := engine.NewPool().AcceptReq(10, true)
	f.SetPayload(10)
	p.Application(0).AcceptFrame(f) // no room known: MaxPayload 0, no transport
	if f.Error() != TxErrorCode || p.Stats().TxErrors != 1 {
		t.Fatalf("error %#x stats %+v", f.Error(), p.Stats())
	}
	f.Release()
	if _, err := New(Options{Version: 3}); !errors.Is(err, ErrOptions) {
		t.Fatal(err)
	}
	if _, err := New(Options{Version: 1, InboundCRC: true}); !errors.Is(err, ErrOptions) {
		t.Fatal(err)
	}
}

// Any input is either parsed (RxSegments) or counted bad, never a panic.
func FuzzReceive(f *testing.F) {
	// v: bit 0 picks version 2, bit 1 its inbound CRC check.
	for _, s := range rogueSegments(f, "stream-data-v2-std.txt") {
		f.Add(uint8(3), s)
	}
	for _, s := range rogueSegments(f, "stream-data-v1-std.txt") {
		f.Add(uint8(0), s)
	}
	f.Fuzz(func(t *testing.T, v uint8, seg []byte) {
		o := Options{Version: 1 + int(v&1), SSI: true}
		if o.Version == 2 {
			o.InboundCRC = v&2 != 0
		}
		p := newPk(t, o)
		if len(seg) == 0 {
			seg = []byte{0}
		}
		engine.Connect(p.Application(seg[min(len(seg)-1, 2)]), &sink{})
		feed(p, [][]byte{seg, seg})
		s := p.Stats()
		if s.RxSegments+s.BadSegments != 2 {
			t.Fatalf("2 segments, counted %+v", s)
		}
	})
}

// A received frame larger than MaxFrame is dropped and counted, the rest
// of its segments are skipped, its buffer is freed, and the frames around
// it arrive; a peer that never sends EOF cannot grow the buffer past the
// bound.
func TestMaxFrame(t *testing.T) {
	for _, v := range []int{1, 2} {
		o := Options{Version: v, SSI: true}
		if v == 2 {
			o.InboundCRC, o.OutboundCRC = true, true
		}
		tx := newPk(t, o)
		w := newWire(1456)
		engine.Connect(tx.Transport(), w)
		sizes := []int{3000, 1000, 2500, 2000, 20000}
		for i, n := range sizes {
			sendBytes(t, tx, 5, patternFrame(n, i, 5))
		}
		ro := o
		ro.MaxFrame = 2000
		rx := newPk(t, ro)
		s := &sink{}
		engine.Connect(rx.Application(5), s)
		segs := w.segs[:len(w.segs)-1] // the last frame without its EOF
		feed(rx, segs)
		st := rx.Stats()
		if len(s.frames) != 2 || !bytes.Equal(s.frames[0], patternFrame(1000, 1, 5)) || !bytes.Equal(s.frames[1], patternFrame(2000, 3, 5)) {
			t.Fatalf("v%d: %d frames; %+v", v, len(s.frames), st)
		}
		if st.Oversize != 3 || st.SequenceErrors+st.MissingEOF+st.CRCErrors+st.BadSegments != 0 {
			t.Errorf("v%d: %+v, want 3 oversize and no other fault", v, st)
		}
		r := &rx.rx[0]
		if v == 2 {
			r = &rx.rx[5]
		}
		if r.active || r.buf != nil {
			t.Errorf("v%d: reassembly still holds %d bytes (cap %d)", v, len(r.buf), cap(r.buf))
		}
		// The next frame after the endless one arrives.
		w.segs = nil
		sendBytes(t, tx, 5, patternFrame(500, 9, 5))
		feed(rx, w.segs)
		if len(s.frames) != 3 || !bytes.Equal(s.frames[2], patternFrame(500, 9, 5)) {
			t.Errorf("v%d: frame after the oversize one: %d frames; %+v", v, len(s.frames), rx.Stats())
		}
	}
	for _, m := range []int{-1, engine.MaxFrameSize + 1} {
		if _, err := New(Options{Version: 1, MaxFrame: m}); !errors.Is(err, ErrOptions) {
			t.Errorf("MaxFrame %d: %v", m, err)
		}
	}
}
