package engine

import (
	"net/netip"
	"testing"
	"time"

	"udpstream.dev/mmsg"
)

// TestGSOToGRO sends batches of equal frames with a shorter tail from a GSO
// client to a GRO server: the client must coalesce them into GSO messages,
// the server must receive coalesced runs and split them back into the same
// frames, in order, with the same sizes and bytes.
func TestGSOToGRO(t *testing.T) {
	leakCheck(t)
	for _, jumbo := range []bool{false, true} {
		s := mustServer(t, jumbo, WithTransport(TransportGRO))
		s.SetRxBufferCount(4000)
		c := mustClient(t, "127.0.0.1", s.Port(), jumbo, WithTransport(TransportGRO))
		max := c.MaxPayload()
		// Runs of full-size frames, each closed by a short tail, plus a
		// lone small frame and an empty one.
		var sizes []int
		for r := range 20 {
			for range 30 {
				sizes = append(sizes, max)
			}
			sizes = append(sizes, 100+r)
		}
		sizes = append(sizes, 7, 0, max)
		col := newCollector(len(sizes), true)
		Connect(s, col)
		fs := make([]Frame, len(sizes))
		for i, n := range sizes {
			b := make([]byte, n)
			pattern(b, uint32(i))
			fs[i] = frameOf(t, c.Pool, b)
		}
		n, err := c.SendBatch(fs)
		if n != len(fs) || err != nil {
			t.Fatalf("SendBatch = %d, %v", n, err)
		}
		for _, f := range fs {
			f.Release()
		}
		col.wait(t, 5*time.Second)
		got := col.got()
		for i, b := range got {
			if len(b) != sizes[i] {
				t.Fatalf("jumbo=%v frame %d: %d bytes, want %d", jumbo, i, len(b), sizes[i])
			}
			if seq, ok := checkPattern(b); len(b) >= 4 && (!ok || seq != uint32(i)) {
				t.Fatalf("jumbo=%v frame %d: seq %d intact %v", jumbo, i, seq, ok)
			}
		}
		cs, ss := c.Stats(), s.Stats()
		if !cs.GSO || cs.GSOFallback || !ss.GRO {
			t.Fatalf("offload not in use: client %+v server %+v", cs, ss)
		}
		if c.ep.tx.gsoMsgs.Load() == 0 {
			t.Fatal("no GSO message was sent")
		}
		if s.ep.socks[0].rx.groRuns.Load() == 0 {
			t.Fatal("no coalesced GRO run was received")
		}
		t.Logf("jumbo=%v: %d frames in %d GSO messages, %d GRO runs received", jumbo, len(sizes),
			c.ep.tx.gsoMsgs.Load(), s.ep.socks[0].rx.groRuns.Load())
		if s.ep.groPool.AllocCount() > 2*groSlots {
			t.Fatalf("%d GRO buffers out after delivery", s.ep.groPool.AllocCount())
		}
		s.Close()
		c.Close()
	}
}

// TestGSOFallback turns GSO off on a GRO client, as when the kernel
// refuses it: batches still go out, one datagram per frame, and Stats says so.
func TestGSOFallback(t *testing.T) {
	leakCheck(t)
	s := mustServer(t, false, WithTransport(TransportGRO))
	c := mustClient(t, "127.0.0.1", s.Port(), false, WithTransport(TransportGRO))
	c.ep.socks[0].mc.DisableGSO()
	col := newCollector(50, true)
	Connect(s, col)
	fs := make([]Frame, 50)
	for i := range fs {
		b := make([]byte, 1000)
		pattern(b, uint32(i))
		fs[i] = frameOf(t, c.Pool, b)
	}
	if n, err := c.SendBatch(fs); n != 50 || err != nil {
		t.Fatalf("SendBatch = %d, %v", n, err)
	}
	for _, f := range fs {
		f.Release()
	}
	col.wait(t, 5*time.Second)
	for i, b := range col.got() {
		if seq, ok := checkPattern(b); !ok || seq != uint32(i) {
			t.Fatalf("frame %d: seq %d intact %v", i, seq, ok)
		}
	}
	if st := c.Stats(); st.GSO || !st.GSOFallback {
		t.Fatalf("stats %+v: want GSO off, GSOFallback on", st)
	}
	if c.ep.tx.gsoMsgs.Load() != 0 {
		t.Fatal("GSO messages sent with GSO off")
	}
}

// TestPlan checks the batching plan without a socket: which frames share a
// GSO message, and where runs break.
func TestPlan(t *testing.T) {
	pool, err := NewFixedPool(1000, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(n int) Frame {
		f, err := pool.AcceptReq(n, true)
		if err != nil {
			t.Fatal(err)
		}
		f.SetPayload(n)
		return f
	}
	cases := []struct {
		lens []int
		gso  bool
		want []int // frames per message
	}{
		{[]int{500, 500, 500}, false, []int{1, 1, 1}},
		{[]int{500, 500, 500}, true, []int{3}},
		{[]int{500, 500, 200, 500}, true, []int{3, 1}},   // short tail closes a run
		{[]int{500, 600, 600}, true, []int{1, 2}},        // a longer frame starts a new run
		{[]int{0, 0, 5}, true, []int{1, 1, 1}},           // empty frames go alone
		{[]int{1500, 1500, 1500}, true, []int{3}},        // two buffers each, still one segment each
		{[]int{700, 700, 700, 700, 700}, true, []int{5}}, // equal sizes
		{[]int{1000, 1000, 999, 1000, 1000}, true, []int{3, 2}},
	}
	for _, c := range cases {
		var ts txState
		ts.alloc(8)
		for _, n := range c.lens {
			ts.valid = append(ts.valid, mk(n))
			ts.lens = append(ts.lens, n)
		}
		k, next := ts.plan(0, netip.AddrPort{}, c.gso, mmsg.MaxPayloadIPv4)
		if next != len(c.lens) || k != len(c.want) {
			t.Fatalf("%v gso=%v: %d messages, next %d; want %d messages", c.lens, c.gso, k, next, len(c.want))
		}
		for i, w := range c.want {
			m := ts.msgs[i]
			if ts.count[i] != w {
				t.Fatalf("%v gso=%v: message %d carries %d frames, want %d", c.lens, c.gso, i, ts.count[i], w)
			}
			total := 0
			for _, n := range c.lens[ts.first[i] : ts.first[i]+w] {
				total += n
			}
			if m.Len() != total || ts.bytes[i] != total {
				t.Fatalf("%v: message %d holds %d bytes, want %d", c.lens, i, m.Len(), total)
			}
			if (w > 1) != (m.SegmentSize > 0) || (w > 1 && m.SegmentSize != c.lens[ts.first[i]]) {
				t.Fatalf("%v: message %d segment size %d", c.lens, i, m.SegmentSize)
			}
		}
		for _, f := range ts.valid {
			f.Release()
		}
	}
	if pool.AllocCount() != 0 {
		t.Fatalf("%d buffers leaked", pool.AllocCount())
	}
}
