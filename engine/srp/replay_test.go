package srp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
)

// capture is a stream slave keeping copies of the frames it gets.
type capture struct {
	mu     sync.Mutex
	frames [][]byte
}

func (c *capture) AcceptFrame(f engine.Frame) {
	b := make([]byte, f.Payload())
	f.ReadAt(b, 0)
	c.mu.Lock()
	c.frames = append(c.frames, b)
	c.mu.Unlock()
}

func (c *capture) take() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.frames
	c.frames = nil
	return out
}

// frameOf builds a stream frame holding b.
func frameOf(t testing.TB, b []byte) engine.Frame {
	f, err := engine.NewPool().AcceptReq(len(b), false)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	return f
}

func deliver(t testing.TB, s engine.Slave, b []byte) {
	f := frameOf(t, b)
	s.AcceptFrame(f)
	f.Release()
}

// settle waits until the device has served what it was given.
func settle(t testing.TB, d *Device) {
	deadline := time.Now().Add(10 * time.Second)
	for d.Pending() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("device still has %d requests", d.Pending())
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// withID returns b with its id word replaced through ids.
func withID(b []byte, ids map[uint32]uint32) []byte {
	b = bytes.Clone(b)
	if len(b) >= 8 {
		if id, ok := ids[binary.LittleEndian.Uint32(b[4:])]; ok {
			binary.LittleEndian.PutUint32(b[4:], id)
		}
	}
	return b
}

// hostRig is a memory master over (optionally a hub over) a host whose
// requests are captured.
type hostRig struct {
	host *Host
	out  *capture
	m    *memory.Master
}

func newHostRig(hubOffset uint64) *hostRig {
	r := &hostRig{host: NewHost(), out: &capture{}}
	engine.Connect(r.host, r.out)
	var s memory.Slave = r.host
	if hubOffset != 0 {
		h := memory.NewHub(hubOffset, 0, 0)
		h.SetSlave(r.host)
		s = h
	}
	r.m = memory.NewMaster(s)
	r.m.SetTimeout(5 * time.Second) // responses come; a loaded machine must not time out
	return r
}

func (r *hostRig) close() { r.m.Close(); r.host.Close() }

func typeOf(st vectorStep, op Opcode) memory.Type {
	switch {
	case op == OpWrite:
		return memory.Write
	case op == OpPost:
		return memory.Post
	case st.Type == "Verify":
		return memory.Verify
	}
	return memory.Read
}

// TestVectorsHost replays every step of Rogue's host through ours: the
// same transactions build the same request bytes (ids mapped), the same
// responses give the same results, error texts included.
func TestVectorsHost(t *testing.T) {
	v := loadVectors(t)
	for _, st := range v.Steps {
		if strings.HasPrefix(st.Name, "emu-") {
			continue
		}
		t.Run(st.Name, func(t *testing.T) {
			hub := uint64(0)
			if strings.HasPrefix(st.Name, "hub-") {
				hub = parseHex(t, v.HubOffset)
			}
			r := newHostRig(hub)
			defer r.close()
			for _, f := range st.Frames {
				if strings.HasPrefix(f.Tap, "dropped") || strings.HasPrefix(f.Tap, "held") {
					r.m.SetTimeout(50 * time.Millisecond) // the step expects a timeout
				}
			}
			replayHostStep(t, r, st)
		})
	}
}

func replayHostStep(t *testing.T, r *hostRig, st vectorStep) {
	if st.Name == "resp-unknown-id-and-undersized" {
		for _, f := range st.Frames {
			deliver(t, r.host, f.bytes(t))
		}
		if s := r.host.Stats(); s.RxUnknownID != 1 || s.RxUndersized != 1 || s.RxFrames != 2 {
			t.Fatalf("stats %+v, want one unknown id and one undersized", s)
		}
		return
	}
	txs := startStep(t, r, st)
	ids := checkRequests(t, r, st, txs)
	for _, f := range st.Frames {
		if f.Dir == "resp" && !strings.HasPrefix(f.Tap, "dropped") && !strings.HasPrefix(f.Tap, "held") && !strings.HasPrefix(f.Tap, "late") {
			deliver(t, r.host, withID(f.bytes(t), ids))
		}
	}
	for i, tx := range txs {
		err := tx.Wait()
		want := st.Error
		for vid, oid := range ids {
			want = strings.ReplaceAll(want, "id="+strconv.Itoa(int(vid))+",", "id="+strconv.Itoa(int(oid))+",")
			want = strings.ReplaceAll(want, "transaction "+strconv.Itoa(int(vid))+" ", "transaction "+strconv.Itoa(int(oid))+" ")
		}
		if (err == nil && want != "") || (err != nil && err.Error() != want) {
			t.Errorf("transaction %d: error %v, Rogue's %q", i, err, want)
		}
		if err == nil && len(txs) == 1 && st.Type != "Write" && st.Type != "Post" && len(st.Frames) > 1 {
			checkReadData(t, st, tx)
		}
		tx.Release()
	}
	for _, f := range st.Frames {
		if strings.HasPrefix(f.Tap, "late") {
			deliver(t, r.host, withID(f.bytes(t), ids))
			if s := r.host.Stats(); s.RxUnknownID+s.RxExpired != 1 {
				t.Fatalf("late response not counted as dropped: %+v", s)
			}
		}
	}
	if n := r.host.Outstanding(); n != 0 {
		t.Fatalf("%d transactions left in the host's table", n)
	}
}

// startStep starts the step's transactions: one per request frame, or
// the step's one transaction for hub and rejected steps.
func startStep(t *testing.T, r *hostRig, st vectorStep) []*memory.Transaction {
	var reqs []vectorFrame
	for _, f := range st.Frames {
		if f.Dir == "req" {
			reqs = append(reqs, f)
		}
	}
	var txs []*memory.Transaction
	if len(reqs) == 0 || strings.HasPrefix(st.Name, "hub-") {
		typ := map[string]memory.Type{"Read": memory.Read, "Write": memory.Write, "Post": memory.Post, "Verify": memory.Verify}[st.Type]
		tx, _ := r.m.Acquire(typ, parseHex(t, st.Address), st.Size)
		var data []byte
		for _, f := range reqs {
			data = append(data, f.bytes(t)[HeaderSize:]...)
		}
		copy(tx.Data, data)
		r.m.Start(tx)
		return append(txs, tx)
	}
	for _, f := range reqs {
		h, data, err := ParseRequest(f.bytes(t))
		if err != nil {
			t.Fatal(err)
		}
		tx, _ := r.m.Acquire(typeOf(st, h.Opcode), h.Address, int(h.Size))
		copy(tx.Data, data)
		r.m.Start(tx)
		txs = append(txs, tx)
	}
	return txs
}

// checkRequests compares the captured requests with Rogue's and returns
// the map from Rogue's ids to ours.
func checkRequests(t *testing.T, r *hostRig, st vectorStep, txs []*memory.Transaction) map[uint32]uint32 {
	ids := map[uint32]uint32{}
	if len(st.IDs) > 0 && len(txs) > 0 {
		ids[st.IDs[0]] = txs[0].ID()
	}
	got := r.out.take()
	var want [][]byte
	for _, f := range st.Frames {
		if f.Dir == "req" {
			want = append(want, f.bytes(t))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("host sent %d requests, Rogue %d", len(got), len(want))
	}
	for i := range got {
		vid, oid := binary.LittleEndian.Uint32(want[i][4:]), binary.LittleEndian.Uint32(got[i][4:])
		ids[vid] = oid
		if !bytes.Equal(got[i], withID(want[i], ids)) {
			t.Errorf("request %d:\nours  %x\nRogue %x", i, got[i], want[i])
		}
	}
	return ids
}

func checkReadData(t *testing.T, st vectorStep, tx *memory.Transaction) {
	var data []byte
	for _, f := range st.Frames {
		if f.Dir == "resp" {
			r, _ := ParseResponse(f.bytes(t))
			data = append(data, r.Data...)
		}
	}
	if !bytes.Equal(tx.Data, data) {
		t.Errorf("read data %x, response carried %x", tx.Data, data)
	}
}

// TestVectorsDevice runs every request of the vector file, in order,
// through our device over an Emulate: it answers what Rogue's emulation
// answered with the same bytes, and drops what it dropped.
func TestVectorsDevice(t *testing.T) {
	v := loadVectors(t)
	d := NewDevice(memory.NewEmulate(4, 4096))
	defer d.Close()
	out := &capture{}
	engine.Connect(d, out)
	for _, st := range v.Steps {
		var want []vectorFrame
		for _, f := range st.Frames {
			if f.Dir == "req" {
				deliver(t, d, f.bytes(t))
			} else if !strings.HasPrefix(f.Tap, "injected") && !strings.HasPrefix(f.Tap, "late") {
				want = append(want, f)
			}
		}
		settle(t, d)
		got := out.take()
		if len(got) != len(want) {
			t.Errorf("%s: device answered %d times, Rogue's %d", st.Name, len(got), len(want))
			continue
		}
		for i, f := range want {
			w := f.bytes(t)
			if strings.HasPrefix(f.Tap, "modified") {
				continue
			}
			if st.Name == "emu-unaligned-addr" {
				w[len(w)-5] = got[i][len(w)-5] // a never-written byte: random in Rogue's emulation
			}
			if !bytes.Equal(got[i], w) {
				t.Errorf("%s response %d:\nours  %s\nRogue %s", st.Name, i, hex.EncodeToString(got[i]), f.Hex)
			}
		}
	}
	s := d.Stats()
	drops := s.RxFrameError + s.RxUndersized + s.RxVersion + s.RxNullOpcode + s.RxBadSize + s.RxShortWrite
	if s.RxFrames != s.Served+s.Posted+drops || drops != 6 || s.RxNullOpcode != 1 || s.RxBadSize != 2 || s.RxVersion != 1 {
		t.Fatalf("device stats %+v", s)
	}
}
