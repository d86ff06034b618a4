package srp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
)

// seedFrames adds every frame of the vector file in direction dir to
// f's corpus.
func seedFrames(f *testing.F, dir string, add func(b []byte)) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatal(err)
	}
	for _, st := range v.Steps {
		for _, fr := range st.Frames {
			if raw, err := hex.DecodeString(fr.Hex); err == nil && fr.Dir == dir {
				add(raw)
			}
		}
	}
}

// FuzzParseRequest: the parser never panics, and what it accepts has the
// data its size says and builds back to the same bytes.
func FuzzParseRequest(f *testing.F) {
	seedFrames(f, "req", func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, b []byte) {
		h, data, err := ParseRequest(b)
		if err != nil {
			return
		}
		if h.Opcode != OpRead && len(data) != int(h.Size) {
			t.Fatalf("write with %d data bytes for size %d", len(data), h.Size)
		}
		if h.Word0 == Word0(h.Opcode, h.Timeout) {
			built := AppendRequest(nil, h.Opcode, h.Timeout, h.ID, h.Address, h.Size, data)
			if !bytes.HasPrefix(b, built) {
				t.Fatalf("rebuilt %x from %x", built, b)
			}
		}
		if _, err := ParseResponse(b); err != nil && len(b) >= HeaderSize+FooterSize {
			t.Fatal(err)
		}
	})
}

// FuzzHostResponse feeds arbitrary frames to a host with one transaction
// outstanding (patch puts its id in the frame): no panic, every frame
// counted once, the transaction ends once at most.
func FuzzHostResponse(f *testing.F) {
	seedFrames(f, "resp", func(b []byte) { f.Add(b, true, uint8(0)) })
	f.Add([]byte{}, false, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, patch bool, errFlag uint8) {
		host := NewHost()
		engine.Connect(host, &capture{})
		m := memory.NewMaster(host)
		defer func() { m.Close(); host.Close() }()
		tx, _ := m.Acquire(memory.Read, 0x100, 8)
		m.Start(tx)
		if patch && len(b) >= 8 {
			binary.LittleEndian.PutUint32(b[4:], tx.ID())
		}
		fr := frameOf(t, b)
		fr.SetError(errFlag)
		host.AcceptFrame(fr)
		fr.Release()
		s := host.Stats()
		sum := s.RxOK + s.RxFrameError + s.RxUndersized + s.RxUnknownID + s.RxExpired +
			s.RxHeaderMismatch + s.RxBusError + s.RxSizeMismatch
		if s.RxFrames != 1 || sum != 1 {
			t.Fatalf("one frame counted as %+v", s)
		}
		if tx.Expired() != (s.RxOK+s.RxHeaderMismatch+s.RxBusError+s.RxSizeMismatch == 1) {
			t.Fatalf("transaction expired %v with stats %+v", tx.Expired(), s)
		}
		tx.Release()
	})
}

// FuzzDeviceRequest feeds arbitrary frames to a device: no panic, every
// frame counted once, one response per served request.
func FuzzDeviceRequest(f *testing.F) {
	seedFrames(f, "req", func(b []byte) { f.Add(b, uint8(0)) })
	f.Fuzz(func(t *testing.T, b []byte, errFlag uint8) {
		mem := memory.NewEmulate(4, 4096)
		mem.SetSize(1 << 20)
		d := NewDevice(mem)
		out := &capture{}
		engine.Connect(d, out)
		defer d.Close()
		fr := frameOf(t, b)
		fr.SetError(errFlag)
		d.AcceptFrame(fr)
		fr.Release()
		settle(t, d)
		s := d.Stats()
		drops := s.RxFrameError + s.RxUndersized + s.RxVersion + s.RxNullOpcode + s.RxBadSize + s.RxShortWrite
		if s.RxFrames != 1 || s.Served+s.Posted+drops != 1 {
			t.Fatalf("one frame counted as %+v", s)
		}
		got := out.take()
		if uint64(len(got)) != s.Served {
			t.Fatalf("%d responses for %d served", len(got), s.Served)
		}
		if len(got) == 1 {
			if _, err := ParseResponse(got[0]); err != nil || !bytes.Equal(got[0][:HeaderSize], b[:HeaderSize]) {
				t.Fatalf("response %x to %x", got[0], b)
			}
		}
	})
}
