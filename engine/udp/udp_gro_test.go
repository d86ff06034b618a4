package udp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
	"udpstream.dev/mmsg"
)

// TestGSOToGRO sends batches of equal frames with a shorter tail from a GSO
// client to a GRO server: the client must coalesce them into GSO messages,
// the server must receive coalesced runs and split them back into the same
// frames, in order, with the same sizes and bytes.
func TestGSOToGRO(t *testing.T) {
	testutils.Leak(t)
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
		engine.Connect(s, col)
		fs := make([]engine.Frame, len(sizes))
		for i, n := range sizes {
			b := make([]byte, n)
			testutils.FillPattern(b, uint32(i))
			fs[i] = frameOf(t, c.ep.txPool, b)
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
			if seq, ok := testutils.CheckPattern(b); len(b) >= 4 && (!ok || seq != uint32(i)) {
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
		if socketsOf(s.ep).socks[0].rx.groRuns.Load() == 0 {
			t.Fatal("no coalesced GRO run was received")
		}
		t.Logf("jumbo=%v: %d frames in %d GSO messages, %d GRO runs received", jumbo, len(sizes),
			c.ep.tx.gsoMsgs.Load(), socketsOf(s.ep).socks[0].rx.groRuns.Load())
		if socketsOf(s.ep).groPool.AllocCount() > 2*groSlots {
			t.Fatalf("%d GRO buffers out after delivery", socketsOf(s.ep).groPool.AllocCount())
		}
		s.Close()
		c.Close()
	}
}

// TestGSOFallback turns GSO off on a GRO client, as when the kernel
// refuses it: batches still go out, one datagram per frame, and Stats says so.
func TestGSOFallback(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false, WithTransport(TransportGRO))
	c := mustClient(t, "127.0.0.1", s.Port(), false, WithTransport(TransportGRO))
	socketsOf(c.ep).socks[0].mc.DisableGSO()
	col := newCollector(50, true)
	engine.Connect(s, col)
	fs := make([]engine.Frame, 50)
	for i := range fs {
		b := make([]byte, 1000)
		testutils.FillPattern(b, uint32(i))
		fs[i] = frameOf(t, c.ep.txPool, b)
	}
	if n, err := c.SendBatch(fs); n != 50 || err != nil {
		t.Fatalf("SendBatch = %d, %v", n, err)
	}
	for _, f := range fs {
		f.Release()
	}
	col.wait(t, 5*time.Second)
	for i, b := range col.got() {
		if seq, ok := testutils.CheckPattern(b); !ok || seq != uint32(i) {
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
	pool, err := engine.NewFixedPool(1000, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(n int) engine.Frame {
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
		p := planPath(MaxPayloadJumbo)
		ts := &p.txs
		var fs []engine.Frame
		for _, n := range c.lens {
			fs = append(fs, mk(n))
		}
		var r txResult
		k, next := p.plan(fs, 0, netip.AddrPort{}, c.gso, mmsg.MaxPayloadIPv4, &r)
		if r.first != nil {
			t.Fatal(r.first)
		}
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
		for _, f := range fs {
			f.Release()
		}
	}
	if pool.AllocCount() != 0 {
		t.Fatalf("%d buffers leaked", pool.AllocCount())
	}
}

// fullFrames returns n frames holding size bytes each, from a pool of its
// own; the test's cleanup releases them.
func fullFrames(t *testing.T, n, size int) []engine.Frame {
	t.Helper()
	pool, err := engine.NewFixedPool(size, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	fs := make([]engine.Frame, 0, n)
	for range n {
		f := mustFrame(t, pool, size)
		if err := f.SetPayload(size); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	t.Cleanup(func() {
		for _, f := range fs {
			f.Release()
		}
	})
	return fs
}

// TestPlanSkipsRefusedFrames checks that a frame refused in the middle of a
// batch is counted and marked, ends the GSO run it interrupts, and leaves
// every message's frames contiguous in the batch.
func TestPlanSkipsRefusedFrames(t *testing.T) {
	fs := fullFrames(t, 6, 500)
	fs[2].SetError(7)   // errored: refused
	fs[0].SetPayload(0) // empty: goes alone, through checkFrame
	p := planPath(400)
	fs[4].SetPayload(300) // fits 400; fs[3] and fs[5] (500) are oversize
	r := txResult{mark: true}
	k, next := p.plan(fs, 0, netip.AddrPort{}, true, mmsg.MaxPayloadIPv4, &r)
	if next != len(fs) {
		t.Fatalf("plan stopped at frame %d of %d", next, len(fs))
	}
	// Frame 0 (empty) alone; 1..3 and 5 refused (oversize or errored); 4 alone.
	wantFirst, wantCount := []int{0, 4}, []int{1, 1}
	if k != len(wantFirst) {
		t.Fatalf("%d messages, want %d", k, len(wantFirst))
	}
	for q := range k {
		if p.txs.first[q] != wantFirst[q] || p.txs.count[q] != wantCount[q] {
			t.Fatalf("message %d: frames %d+%d, want %d+%d", q, p.txs.first[q], p.txs.count[q], wantFirst[q], wantCount[q])
		}
	}
	if !errors.Is(r.first, engine.ErrFrameSize) {
		t.Fatalf("first refusal %v, want ErrFrameSize (frame 1 is oversize)", r.first)
	}
	if got := p.txr.tx.oversize.Load(); got != 3 {
		t.Fatalf("%d oversize frames counted, want 3", got)
	}
	if got := p.txr.tx.errored.Load(); got != 1 {
		t.Fatalf("%d errored frames counted, want 1", got)
	}
	for _, i := range []int{1, 3, 5} {
		if fs[i].Error() != TxErrorCode {
			t.Fatalf("refused frame %d not marked: error %#x", i, fs[i].Error())
		}
	}
	if fs[2].Error() != 7 {
		t.Fatalf("an errored frame's own code was overwritten: %#x", fs[2].Error())
	}
}

// TestPlanRunBreaksAtRefusal checks that a refusal ends a GSO run: the
// frames on either side of it travel in separate messages.
func TestPlanRunBreaksAtRefusal(t *testing.T) {
	fs := fullFrames(t, 5, 500)
	fs[2].SetError(7)
	p := planPath(MaxPayloadStandard)
	var r txResult
	k, _ := p.plan(fs, 0, netip.AddrPort{}, true, mmsg.MaxPayloadIPv4, &r)
	if k != 2 || p.txs.first[0] != 0 || p.txs.count[0] != 2 || p.txs.first[1] != 3 || p.txs.count[1] != 2 {
		t.Fatalf("%d messages: %v+%v, want frames 0+2 and 3+2", k, p.txs.first[:k], p.txs.count[:k])
	}
	if p.txs.msgs[0].SegmentSize != 500 || p.txs.msgs[1].SegmentSize != 500 {
		t.Fatal("runs of two 500-byte frames were not sent as GSO")
	}
	if !errors.Is(r.first, ErrFrameErrored) {
		t.Fatalf("refusal %v, want ErrFrameErrored", r.first)
	}
}

// A GRO run is judged by its sender once and by size per datagram: every
// datagram but the last has the segment size. The frames delivered are the
// datagrams judged accepted, with their sizes.
func TestJudgeGRORun(t *testing.T) {
	var m engine.Master
	e, err := newEndpoint(&m, false, false, []Option{WithTransport(TransportGRO)})
	if err != nil {
		t.Fatal(err)
	}
	p := unopenedPath(t, e)
	var got []int
	engine.Connect(&m, engine.SlaveFunc(func(f engine.Frame) { got = append(got, f.Payload()) }))
	var cut rxCut
	var pc peerCache
	from := netip.MustParseAddrPort("127.0.0.1:9")
	for _, c := range []struct {
		n, seg                  int
		frames, bytes, oversize uint64
		deliver                 bool
	}{
		{3*1472 + 100, 1472, 4, 3*1472 + 100, 0, true},
		{3*2000 + 500, 2000, 1, 500, 3, true},
		{3*2000 + 1900, 2000, 0, 0, 4, false},
		{1000, 0, 1, 1000, 0, true},
		{2000, 2000, 0, 0, 1, false},
		{0, 1472, 1, 0, 0, true},
	} {
		var tally rxTally
		msg := mmsg.Message{N: c.n, SegmentSize: c.seg, Addr: from}
		s := &udpSocket{}
		ok := p.judge(s, &tally, &msg, true, true)
		if ok != c.deliver || tally.frames != c.frames || tally.bytes != c.bytes || tally.oversize != c.oversize {
			t.Errorf("%d bytes in segments of %d: deliver %v, %d frames of %d bytes, %d oversize; want %v, %d, %d, %d",
				c.n, c.seg, ok, tally.frames, tally.bytes, tally.oversize, c.deliver, c.frames, c.bytes, c.oversize)
		}
		if !ok {
			continue
		}
		b, err := px.AllocBuffer(p.groPool)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		p.deliverGRO(s, &pc, &cut, &msg, b)
		b.Release()
		bytes := 0
		for _, n := range got {
			bytes += n
		}
		if uint64(len(got)) != c.frames || uint64(bytes) != c.bytes || s.rx.errors.Load() != 0 {
			t.Errorf("%d bytes in segments of %d: delivered %v, %d errors; want %d frames of %d bytes",
				c.n, c.seg, got, s.rx.errors.Load(), c.frames, c.bytes)
		}
	}
	if n := p.groPool.AllocCount(); n != 0 {
		t.Fatalf("%d GRO buffers out after delivery", n)
	}
}

// TestFramesKept has a slave keep every received frame, some handed over
// a receive queue, and check them all once every datagram has arrived: a
// frame still held after its receive loop moved on keeps its buffer, so
// its bytes are intact, and once the frames are released every buffer is
// back in the pool and every handle is stale. Every transport cuts its
// frames out of its receive buffers with the loop's own bodies.
func TestFramesKept(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range shortTransports() {
		for _, depth := range []int{0, 4096} {
			t.Run(fmt.Sprintf("%v/queue%d", tr, depth), func(t *testing.T) { framesKept(t, tr, depth) })
		}
	}
}

func framesKept(t *testing.T, tr Transport, depth int) {
	s := mustServer(t, false, WithTransport(tr), WithRxQueue(depth), WithPoolSize(1000))
	defer s.Close()
	s.SetRxBufferCount(4000)
	c := mustClient(t, "127.0.0.1", s.Port(), false, WithTransport(TransportGRO))
	defer c.Close()
	const total = 600
	var mu sync.Mutex
	var kept []engine.Frame
	col := newCollector(total, false)
	col.each = func(f engine.Frame) {
		if err := f.Retain(); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		kept = append(kept, f)
		mu.Unlock()
	}
	engine.Connect(s, col)
	for batch := range total / 100 {
		fs := make([]engine.Frame, 100)
		for i := range fs {
			b := make([]byte, 1000)
			testutils.FillPattern(b, uint32(batch*100+i))
			fs[i] = frameOf(t, c.ep.txPool, b)
		}
		if n, err := c.SendBatch(fs); n != len(fs) || err != nil {
			t.Fatalf("SendBatch = %d, %v", n, err)
		}
		for _, f := range fs {
			f.Release()
		}
		// The naive receiver takes a datagram per call: keep the
		// socket's queue short enough for it.
		time.Sleep(5 * time.Millisecond)
	}
	col.wait(t, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for i, f := range kept {
		b, err := f.Bytes()
		if seq, ok := testutils.CheckPattern(b); err != nil || !ok || seq != uint32(i) {
			t.Fatalf("kept frame %d: seq %d intact %v err %v", i, seq, ok, err)
		}
	}
	for _, f := range kept {
		if err := f.Release(); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range kept {
		if f.Valid() {
			t.Fatal("a released frame is still valid")
		}
	}
	sp := socketsOf(s.ep)
	pool, posted := sp.rxPool, sp.cfg.batch
	if tr == TransportGRO {
		pool, posted = sp.groPool, groSlots
	}
	if out := pool.AllocCount(); out > posted {
		t.Fatalf("%d buffers out after every frame was released (at most %d posted)", out, posted)
	}
}

// TestLentFrames has slaves that misuse the frames they are lent: one
// keeps every handle without retaining it, one releases every other frame
// it did not retain. Reception goes on undisturbed, and once the receive
// loop has moved on every kept handle is stale: a lent frame lives only
// while the loop delivers its batch.
func TestLentFrames(t *testing.T) {
	testutils.Leak(t)
	sends := 200
	if testing.Short() {
		sends = 50 // short: fewer paced datagrams; the full run sends 200
	}
	for _, tr := range shortTransports() {
		t.Run(tr.String(), func(t *testing.T) {
			s := mustServer(t, false, WithTransport(tr))
			defer s.Close()
			var mu sync.Mutex
			var kept []engine.Frame
			var n int
			engine.Connect(s, engine.SlaveFunc(func(f engine.Frame) {
				mu.Lock()
				defer mu.Unlock()
				kept = append(kept, f)
				if n++; n%2 == 0 {
					f.Release()
				}
			}))
			col := newCollector(sends, false)
			engine.Connect(s, col)
			raw := rawUDP(t)
			payload := make([]byte, 1000)
			for range sends {
				if _, err := raw.WriteToUDP(payload, loopback(s.Port())); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Microsecond)
			}
			col.wait(t, 5*time.Second)
			// One more datagram: the loop has settled every frame
			// before it delivers it.
			last := newCollector(1, false)
			engine.Connect(s, last)
			testutils.Eventually(t, 5*time.Second, "a last datagram", func() bool {
				raw.WriteToUDP(payload, loopback(s.Port()))
				select {
				case <-last.done:
					return true
				case <-time.After(20 * time.Millisecond):
					return false
				}
			}, func() string { return fmt.Sprintf("stats %+v", s.Stats()) })
			mu.Lock()
			defer mu.Unlock()
			for i, f := range kept[:sends] {
				if f.Valid() || !errors.Is(f.Retain(), engine.ErrReleased) {
					t.Fatalf("lent frame %d is still live after the loop moved on", i)
				}
			}
			if st := s.Stats(); st.RxErrors != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// deliverPlain delivers a batch's accepted messages in order, each frame
// over its own slot, and a slave that looks at the peer while handling a
// frame sees that frame's sender, however the senders alternate.
func TestDeliverPlainNotesEachSender(t *testing.T) {
	var m engine.Master
	e, err := newEndpoint(&m, false, false, []Option{WithTransport(TransportMmsg)})
	if err != nil {
		t.Fatal(err)
	}
	p := unopenedPath(t, e)
	a := netip.MustParseAddrPort("127.0.0.1:9")
	b := netip.MustParseAddrPort("[::1]:10")
	senders := []netip.AddrPort{a, a, b, a, b, b, a}
	skip := 3 // judged not to be delivered
	slots := newRxSlots(p.rxPool, len(senders), e.maxPayload)
	defer slots.release()
	msgs := make([]mmsg.Message, len(senders))
	for i, from := range senders {
		msgs[i] = mmsg.Message{Buffers: slots.bufs[i : i+1 : i+1], N: 10 + i, Addr: from}
		slots.ok[i] = i != skip
	}
	type seen struct { // exported fields, so that %v prints the address
		N    int
		Peer netip.AddrPort
	}
	var got []seen
	engine.Connect(&m, engine.SlaveFunc(func(f engine.Frame) {
		got = append(got, seen{f.Payload(), e.peer.load()})
	}))
	var cut rxCut
	var pc peerCache
	s := &udpSocket{}
	p.deliverPlain(s, &pc, &cut, msgs, slots)
	var want []seen
	for i, from := range senders {
		if i != skip {
			want = append(want, seen{10 + i, from})
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || s.rx.errors.Load() != 0 {
		t.Fatalf("delivered %v (%d errors), want %v", got, s.rx.errors.Load(), want)
	}
	for i := range senders {
		if !slots.blks[i].SoleOwner() {
			t.Fatalf("slot %d: the batch's group was not settled", i)
		}
	}
}

func TestNextOffer(t *testing.T) {
	for _, c := range []struct{ offer, got, n, want int }{
		{64, 64, 64, 64}, // behind: stays at the whole batch
		{64, 3, 64, 8},   // keeping up: a few at a time, at least minOffer
		{64, 20, 64, 40}, // twice what the last read filled
		{8, 8, 64, 16},   // filled them all: doubles
		{32, 32, 64, 64},
		{40, 40, 64, 64}, // never past the batch
		{8, 0, 64, 8},    // woken empty-handed
		{4, 4, 4, 4},     // a batch below minOffer
		{4, 1, 4, 4},
	} {
		if got := nextOffer(c.offer, c.got, c.n); got != c.want {
			t.Errorf("nextOffer(%d, %d, %d) = %d, want %d", c.offer, c.got, c.n, got, c.want)
		}
	}
}

// TestWarmHeads checks that warmHeads reads the first byte of every
// datagram of a GRO buffer, the short last one included, and nothing past
// the buffer.
func TestWarmHeads(t *testing.T) {
	buf := make([]byte, 40)
	for i := range buf {
		buf[i] = byte(i + 1)
	}
	cases := []struct {
		n, seg int
		want   byte
	}{
		{0, 10, 0},
		{10, 10, 1},
		{35, 10, 1 ^ 11 ^ 21 ^ 31},
		{40, 40, 1},
		{99, 30, 1 ^ 31}, // n beyond the buffer: only its datagrams
	}
	for _, c := range cases {
		if got := warmHeads(buf, c.n, c.seg); got != c.want {
			t.Errorf("warmHeads(n %d, seg %d) = %d, want %d", c.n, c.seg, got, c.want)
		}
	}
}
