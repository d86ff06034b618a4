package engine

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// recorder notes the order in which slaves see a frame.
type recorder struct {
	name  string
	order *[]string
}

func (r recorder) AcceptFrame(f Frame) { *r.order = append(*r.order, r.name) }

// poolSlave is a slave with its own allocator.
type poolSlave struct {
	BaseSlave
	*Pool
}

func TestMasterOrderPrimaryLast(t *testing.T) {
	var m Master
	var order []string
	for _, n := range []string{"primary", "second", "third"} {
		Connect(&m, recorder{n, &order})
	}
	if m.SlaveCount() != 3 {
		t.Fatalf("SlaveCount = %d", m.SlaveCount())
	}
	f, err := m.ReqFrame(10, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if err := m.SendFrame(f); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, ","); got != "second,third,primary" {
		t.Fatalf("delivery order %s", got)
	}
}

func TestMasterAllocatesFromPrimary(t *testing.T) {
	pool, _ := NewFixedPool(512, 8, 0)
	primary := &poolSlave{Pool: pool}
	var m Master
	m.AddSlave(primary)
	m.AddSlave(&BaseSlave{})
	f, err := m.ReqFrame(100, true)
	if err != nil {
		t.Fatal(err)
	}
	if pool.AllocCount() != 1 || f.Size() != 512 {
		t.Fatalf("not allocated from the primary's pool: count %d size %d", pool.AllocCount(), f.Size())
	}
	f.Release()

	// Without an allocating primary, the master's own pool serves.
	var bare Master
	own, _ := NewFixedPool(64, 2, 0)
	bare.SetPool(own)
	bare.AddSlave(&BaseSlave{})
	g, err := bare.ReqFrame(10, true)
	if err != nil || own.AllocCount() != 1 {
		t.Fatalf("fallback pool not used: %v, count %d", err, own.AllocCount())
	}
	g.Release()
}

func TestMasterClose(t *testing.T) {
	var m Master
	m.AddSlave(&BaseSlave{})
	f, _ := m.ReqFrame(4, true)
	defer f.Release()
	m.Close()
	m.Close()
	if _, err := m.ReqFrame(4, true); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReqFrame after Close: %v", err)
	}
	if err := m.SendFrame(f); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendFrame after Close: %v", err)
	}
}

func TestSendReleasedFrame(t *testing.T) {
	var m Master
	s := &BaseSlave{}
	m.AddSlave(s)
	f, _ := m.ReqFrame(4, true)
	f.Release()
	if err := m.SendFrame(f); !errors.Is(err, ErrReleased) {
		t.Fatalf("SendFrame of released frame: %v", err)
	}
	if s.FrameCount() != 0 {
		t.Fatal("released frame reached a slave")
	}
}

func TestBaseSlaveCountsAndDebug(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(prev)

	var m Master
	s := &BaseSlave{}
	Connect(&m, s)
	s.SetDebug(4, "mon")
	for i := range 3 {
		f, _ := m.ReqFrame(10, true)
		f.Write([]byte{0xde, 0xad, 0xbe, 0xef, byte(i), 0, 0})
		m.SendFrame(f)
		f.Release()
	}
	if s.FrameCount() != 3 || s.ByteCount() != 21 {
		t.Fatalf("counts = %d frames %d bytes", s.FrameCount(), s.ByteCount())
	}
	out := logs.String()
	if strings.Count(out, "name=mon") != 3 || !strings.Contains(out, "data=deadbeef\n") {
		t.Fatalf("debug output:\n%s", out)
	}
	s.SetDebug(0, "")
	logs.Reset()
	f, _ := m.ReqFrame(1, true)
	m.SendFrame(f)
	f.Release()
	if logs.Len() != 0 {
		t.Fatalf("debug still on: %s", logs.String())
	}
}

func TestChain(t *testing.T) {
	var m Master
	if err := Chain(&m, &BaseSlave{}, &BaseSlave{}); err == nil {
		t.Fatal("chain through a slave that emits nothing accepted")
	}
	if m.SlaveCount() != 0 {
		t.Fatal("failed chain connected something")
	}
}

// TestSlaveFunc checks that a function connected as a slave gets every
// frame the master sends.
func TestSlaveFunc(t *testing.T) {
	var m Master
	var got []int
	Connect(&m, SlaveFunc(func(f Frame) { got = append(got, f.Payload()) }))
	p := NewPool()
	for _, n := range []int{3, 7} {
		f, err := p.AcceptReq(n, true)
		if err != nil {
			t.Fatal(err)
		}
		f.SetPayload(n)
		m.SendFrame(f)
		f.Release()
	}
	if len(got) != 2 || got[0] != 3 || got[1] != 7 {
		t.Fatalf("the function saw payloads %v, want [3 7]", got)
	}
}

// sendHeld delivers a run frame by frame, each to every slave in
// SendFrame's order, and nothing once the master is closed.
func TestSendHeld(t *testing.T) {
	var m Master
	var order []string
	var frames []Frame
	for range 2 {
		f, err := m.ReqFrame(4, true)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Release()
		frames = append(frames, f)
	}
	if err := m.sendHeld(frames); err != nil {
		t.Fatalf("sendHeld without slaves: %v", err)
	}
	Connect(&m, recorder{"primary", &order})
	if err := m.sendHeld(frames); err != nil {
		t.Fatal(err)
	}
	Connect(&m, recorder{"second", &order})
	if err := m.sendHeld(frames); err != nil {
		t.Fatal(err)
	}
	want := "primary,primary,second,primary,second,primary"
	if got := strings.Join(order, ","); got != want {
		t.Fatalf("delivery order %s, want %s", got, want)
	}
	m.Close()
	order = nil
	if err := m.sendHeld(frames); !errors.Is(err, ErrClosed) || len(order) != 0 {
		t.Fatalf("sendHeld after Close: %v, delivered %v", err, order)
	}
}
