package engine

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"udpstream.dev/engine/internal/poolx"
)

// frameCarved makes frame k of the current group of c, payload
// b.Mem[off:off+n]: one frame at a time at any window, for the tests of the
// group's rules (the transports cut runs with framesCarved). k must grow
// within a group; it fails when body k is in use or was cut already.
func (p *Pool) frameCarved(c *poolx.Carver, b *poolx.Buffer, k, off, n int) (Frame, error) {
	if b == nil || !b.Live() {
		return Frame{}, fmt.Errorf("engine: a frame on a free buffer")
	}
	if off < 0 || n < 0 || off > len(b.Mem) || n > len(b.Mem)-off {
		return Frame{}, fmt.Errorf("%w: window %d+%d outside a %d-byte buffer", ErrFrameSize, off, n, len(b.Mem))
	}
	st, e, err := p.group(c).take(k)
	if err != nil {
		return Frame{}, err
	}
	// Field by field: a segment built aside and copied in is read back
	// wider than it was written, which stalls the store.
	sg := &st.segs[0]
	sg.buf, sg.floor, sg.lo, sg.hi, sg.n = b, off, off, off+n, n
	return Frame{st: st, gen: e}, nil
}

// cutCarved cuts n frames of size bytes out of b as one group, as a GRO
// receive loop does.
func cutCarved(t testing.TB, p *Pool, c *poolx.Carver, b *poolx.Buffer, n, size int) []Frame {
	t.Helper()
	frames := make([]Frame, n)
	for k := range frames {
		f, err := p.frameCarved(c, b, k, k*size, size)
		if err != nil {
			t.Fatal(err)
		}
		frames[k] = f
	}
	return frames
}

func carvedBuffer(t testing.TB, p *Pool) *poolx.Buffer {
	t.Helper()
	b, err := p.allocBuffer()
	if err != nil {
		t.Fatal(err)
	}
	mem := b.Memory()
	for i := range mem {
		mem[i] = byte(i / 1000)
	}
	return b
}

// The loop holds the frames of a group until it settles it; a retained
// frame outlives it, holding the buffer, and the others go stale.
func TestFrameCarved(t *testing.T) {
	p, _ := NewFixedPool(8192, 2, 0)
	var c poolx.Carver
	b := carvedBuffer(t, p)
	first := cutCarved(t, p, &c, b, 5, 1000)
	for k, f := range first {
		data, err := f.Bytes()
		if err != nil || len(data) != 1000 || data[0] != byte(k) || f.Headroom() != 0 {
			t.Fatalf("frame %d: %d bytes, headroom %d, err %v", k, len(data), f.Headroom(), err)
		}
	}
	// A body is cut once per group.
	if _, err := p.frameCarved(&c, b, 2, 0, 10); err == nil {
		t.Fatal("a carved body was cut twice in one group")
	}
	// Releasing the reference the loop lent ends the frame at once.
	if err := first[1].Release(); err != nil || first[1].Valid() {
		t.Fatalf("lent reference released: %v, still valid %v", err, first[1].Valid())
	}
	if err := first[3].Retain(); err != nil {
		t.Fatal(err)
	}
	// Retained and released before the group ends: still the loop's.
	if err := first[4].Retain(); err != nil || first[4].Release() != nil || !first[4].Valid() {
		t.Fatal("a frame retained and released during delivery lost the loop's hold")
	}
	p.settleCarved(&c)
	if b.SoleOwner() {
		t.Fatal("the buffer looks free while a retained frame uses it")
	}
	for _, k := range []int{0, 1, 2, 4} {
		if first[k].Valid() || !errors.Is(first[k].Release(), ErrReleased) || !errors.Is(first[k].Retain(), ErrReleased) {
			t.Fatalf("frame %d is live after its group ended", k)
		}
	}
	if data, err := first[3].Bytes(); err != nil || data[0] != 3 {
		t.Fatalf("retained frame: %v", err)
	}
	if err := first[3].Release(); err != nil {
		t.Fatal(err)
	}
	if !b.SoleOwner() || first[3].Valid() {
		t.Fatal("the buffer is not back with its holder after the retained frame went")
	}
	// The next group reuses the bodies: stale handles stay stale, even
	// when the body's new frame is retained.
	second := cutCarved(t, p, &c, b, 5, 1000)
	for k := range second {
		if err := second[k].Retain(); err != nil {
			t.Fatal(err)
		}
		if first[k].Valid() || first[k].Payload() != 0 || !errors.Is(first[k].Retain(), ErrReleased) {
			t.Fatalf("stale handle %d reaches the body's next frame", k)
		}
	}
	p.settleCarved(&c)
	for _, f := range second {
		f.Release()
	}
	releaseAll(t, p, b)
}

// Cutting and settling allocates nothing once the set has grown, whether
// the frames are only lent or retained past their group (as a receive
// queue does): the bodies of the latter come back to the set.
func TestFrameCarvedNoAllocs(t *testing.T) {
	p, _ := NewFixedPool(8192, 2, 0)
	var c poolx.Carver
	b := carvedBuffer(t, p)
	kept := make([]Frame, 5)
	round := func(retain bool) {
		for k := range 5 {
			f, err := p.frameCarved(&c, b, k, k*1000, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if retain {
				f.Retain()
			}
			kept[k] = f
		}
		p.settleCarved(&c)
		if retain {
			for _, f := range kept {
				f.Release()
			}
		}
	}
	round(true)
	round(true)
	for _, retain := range []bool{false, true} {
		if allocs := testing.AllocsPerRun(100, func() { round(retain) }); allocs != 0 {
			t.Fatalf("retain %v: %v allocations per group", retain, allocs)
		}
	}
	releaseAll(t, p, b)
}

// Every retained frame of a group gets its buffer reference, however many
// bodies the set had to add for it.
func TestFrameCarvedGrowth(t *testing.T) {
	p, _ := NewFixedPool(65536, 2, 0)
	var c poolx.Carver
	b := carvedBuffer(t, p)
	frames := cutCarved(t, p, &c, b, 40, 100)
	for _, f := range frames {
		f.Retain()
	}
	p.settleCarved(&c)
	b.Release()
	for _, f := range frames[16:] {
		f.Release()
	}
	if p.AllocCount() != 1 {
		t.Fatalf("the buffer went back with frames live: AllocCount %d", p.AllocCount())
	}
	for _, f := range frames[:16] {
		f.Release()
	}
	if p.AllocCount() != 0 {
		t.Fatalf("buffer not returned: AllocCount %d", p.AllocCount())
	}
}

// Frames released on other goroutines while the loop settles their group
// give the buffer back exactly once, and their bodies come back to the set.
func TestFrameCarvedSettleRace(t *testing.T) {
	p, _ := NewFixedPool(65536, 2, 0)
	var c poolx.Carver
	for range 200 {
		b := carvedBuffer(t, p)
		frames := cutCarved(t, p, &c, b, 44, 1472)
		for _, f := range frames {
			f.Retain()
		}
		var wg sync.WaitGroup
		for _, half := range [][]Frame{frames[:22], frames[22:]} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, f := range half {
					f.Release()
				}
			}()
		}
		p.settleCarved(&c)
		b.Release()
		wg.Wait()
		if p.AllocCount() != 0 {
			t.Fatalf("AllocCount %d after every frame and the loop let go", p.AllocCount())
		}
	}
	if g := c.Bodies.(*carvedGroup); len(g.set)+len(g.spare) > 4*44 {
		t.Fatalf("%d bodies for groups of 44: bodies given back are not reused", len(g.set)+len(g.spare))
	}
}

// A frame over a whole buffer has the pool's size and headroom, as a
// frame of AcceptReq does.
func TestFrameCarvedOver(t *testing.T) {
	p, _ := NewFixedPool(2000, 4, 64)
	var c poolx.Carver
	b, err := p.allocBuffer()
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.frameCarvedOver(&c, b, 0, 1472)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != 2000 || f.Payload() != 1472 || f.Headroom() != 64 {
		t.Fatalf("size %d, payload %d, headroom %d", f.Size(), f.Payload(), f.Headroom())
	}
	if _, err := p.frameCarvedOver(&c, b, 1, 2001); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("a datagram larger than the buffer: %v", err)
	}
	p.settleCarved(&c)
	b.Release()
	if f.Valid() || p.AllocCount() != 0 {
		t.Fatalf("valid %v, AllocCount %d", f.Valid(), p.AllocCount())
	}
}

func TestFrameCarvedBadInput(t *testing.T) {
	p, _ := NewFixedPool(4096, 2, 0)
	var c poolx.Carver
	b, err := p.allocBuffer()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ k, off, n int }{{-1, 0, 1}, {maxCarved, 0, 1}, {0, -1, 1}, {0, 0, 5000}, {0, 4000, 200}} {
		if _, err := p.frameCarved(&c, b, w.k, w.off, w.n); !errors.Is(err, ErrFrameSize) {
			t.Fatalf("frame %d at %d+%d: %v", w.k, w.off, w.n, err)
		}
	}
	if _, err := p.frameCarved(&c, b, 3, 0, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := p.frameCarved(&c, b, 1, 0, 10); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("a group cut out of order: %v", err)
	}
	p.settleCarved(&c)
	b.Release()
	if _, err := p.frameCarved(&c, b, 0, 0, 10); err == nil {
		t.Fatal("a frame carved out of a free buffer")
	}
}

// A run cut at once gives the same frames as frame by frame: every
// datagram seg bytes but the last, from the first frame asked for.
func TestFramesCarved(t *testing.T) {
	p, _ := NewFixedPool(8192, 2, 0)
	var c poolx.Carver
	b := carvedBuffer(t, p)
	frames, err := p.framesCarved(&c, b, 4500, 1000, 1, 5, nil)
	if err != nil || len(frames) != 4 {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
	for i, f := range frames {
		data, err := f.Bytes()
		want := 1000
		if i == 3 {
			want = 500
		}
		if err != nil || len(data) != want || data[0] != byte(i+1) || f.Headroom() != 0 {
			t.Fatalf("frame %d: %d bytes, want %d; err %v", i+1, len(data), want, err)
		}
	}
	// Body 0 was left out of this group; the others were cut.
	if _, err := p.framesCarved(&c, b, 4500, 1000, 2, 3, nil); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("a body cut twice in one group: %v", err)
	}
	if err := frames[0].Retain(); err != nil {
		t.Fatal(err)
	}
	p.settleCarved(&c)
	if frames[1].Valid() || !frames[0].Valid() {
		t.Fatal("the group did not end as it should")
	}
	// An empty datagram is a frame too.
	empty, err := p.framesCarved(&c, b, 0, 1, 0, 1, nil)
	if err != nil || len(empty) != 1 || empty[0].Payload() != 0 {
		t.Fatalf("empty datagram: %v, %v", empty, err)
	}
	p.settleCarved(&c)
	frames[0].Release()
	b.Release()
	if p.AllocCount() != 0 {
		t.Fatalf("AllocCount %d", p.AllocCount())
	}
}

func TestFramesCarvedBadInput(t *testing.T) {
	p, _ := NewFixedPool(4096, 2, 0)
	var c poolx.Carver
	b, err := p.allocBuffer()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ n, seg, k0, k1 int }{
		{-1, 100, 0, 1}, {5000, 100, 0, 1}, {1000, 0, 0, 1}, {1000, 100, -1, 1},
		{1000, 100, 3, 2}, {1000, 100, 0, 11},
	} {
		if got, err := p.framesCarved(&c, b, w.n, w.seg, w.k0, w.k1, nil); !errors.Is(err, ErrFrameSize) || len(got) != 0 {
			t.Fatalf("%+v: %d frames, %v", w, len(got), err)
		}
	}
	// A body still in use fails the whole run, appending nothing (the
	// group's count of cut bodies is wound back to get there).
	frames, err := p.framesCarved(&c, b, 1000, 100, 0, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	frames[1].Retain()
	g := c.Bodies.(*carvedGroup)
	g.cut = 0
	if got, err := p.framesCarved(&c, b, 1000, 100, 0, 3, nil); err == nil || len(got) != 0 || g.cut != 0 {
		t.Fatalf("a run over a body in use: %d frames, %v", len(got), err)
	}
	g.cut = 3
	frames[1].Release()
	p.settleCarved(&c)
	b.Release()
	if _, err := p.framesCarved(&c, b, 1000, 100, 0, 3, nil); err == nil {
		t.Fatal("frames carved out of a free buffer")
	}
}

// releaseAll gives b back and checks the pool has nothing left out.
func releaseAll(t *testing.T, p *Pool, b *poolx.Buffer) {
	t.Helper()
	b.Release()
	if p.AllocCount() != 0 {
		t.Fatalf("buffer not returned: AllocCount %d", p.AllocCount())
	}
}
