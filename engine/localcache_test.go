package engine

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"udpstream.dev/engine/internal/poolx"
	"udpstream.dev/ring"
)

// newTestCache returns a cache of shards shards in front of a shared ring
// of ringCap slots.
func newTestCache(t *testing.T, ringCap, shards int) *localCache[int] {
	t.Helper()
	r, err := ring.NewMPMC[int](ringCap)
	if err != nil {
		t.Fatal(err)
	}
	return &localCache[int]{shared: r, shards: make([]cacheShard[int], shards)}
}

// drain takes every item out of c, from any shard, and checks that items
// 1..n are each there exactly once.
func drainExactly(t *testing.T, c *localCache[int], n int) {
	t.Helper()
	seen := make([]bool, n+1)
	for {
		v, ok := c.get()
		if !ok {
			v, ok = c.steal()
		}
		if !ok {
			break
		}
		if v < 1 || v > n || seen[v] {
			t.Fatalf("item %d: out of range or seen twice", v)
		}
		seen[v] = true
	}
	for v := 1; v <= n; v++ {
		if !seen[v] {
			t.Fatalf("item %d of %d was lost", v, n)
		}
	}
}

// TestLocalCacheKeepsEveryItem: goroutines on every P take and return a
// fixed set of items through their shards; afterwards each item is in the
// cache exactly once, also when there are fewer shards than Ps (GOMAXPROCS
// raised after the cache was made).
func TestLocalCacheKeepsEveryItem(t *testing.T) {
	const items = 256
	for _, shards := range []int{runtime.GOMAXPROCS(0), 1} {
		c := newTestCache(t, items, shards)
		for v := 1; v <= items; v++ {
			if !c.shared.PushUnlessFull(v) {
				t.Fatal("ring refused a seed item")
			}
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var held []int
				for i := range 20_000 {
					if v, ok := c.get(); ok {
						held = append(held, v)
					}
					if len(held) > 0 && (i%3 != 0 || len(held) > 40) {
						if !c.put(held[len(held)-1]) {
							t.Error("put refused with room in the ring")
							return
						}
						held = held[:len(held)-1]
					}
				}
				for _, v := range held {
					c.put(v)
				}
			}()
		}
		wg.Wait()
		if n := c.count(); n != items {
			t.Fatalf("%d shards: %d items in the cache, want %d", shards, n, items)
		}
		drainExactly(t, c, items)
	}
}

// TestLocalCacheFlushKeepsWhatTheRingRefuses: a full shard flushing into a
// ring with room for fewer than a batch keeps the rest, and put refuses
// only once both are full.
func TestLocalCacheFlushKeepsWhatTheRingRefuses(t *testing.T) {
	const ringCap = 4
	c := newTestCache(t, ringCap, 1)
	n := 0
	for n < shardCap+ringCap {
		if !c.put(n + 1) {
			t.Fatalf("put %d refused with %d items held", n+1, n)
		}
		n++
	}
	if c.put(n + 1) {
		t.Fatalf("put accepted item %d with shard and ring full", n+1)
	}
	if got := c.shared.Len(); got != ringCap {
		t.Fatalf("ring holds %d, want %d", got, ringCap)
	}
	drainExactly(t, c, n)
}

// TestLocalCacheGetOrder: a batch refilled from the ring is handed out in
// the ring's order.
func TestLocalCacheGetOrder(t *testing.T) {
	c := newTestCache(t, 64, 1)
	for v := 1; v <= 40; v++ {
		c.shared.PushUnlessFull(v)
	}
	for want := 1; want <= 40; want++ {
		if v, ok := c.get(); !ok || v != want {
			t.Fatalf("get = %d %v, want %d", v, ok, want)
		}
	}
}

// TestRegionPoolFindsBuffersCachedOnOtherPs: buffers of a region pool
// returned on other goroutines sit in their Ps' caches; one goroutine must
// still get every buffer of the region, never one from the heap.
func TestRegionPoolFindsBuffersCachedOnOtherPs(t *testing.T) {
	const n = 24
	p, _ := regionPool(t, n, 512, 0)
	for round := range 20 {
		bufs := make(chan *poolx.Buffer, n)
		for range n {
			b, err := p.allocBuffer()
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if b.Index < 0 {
				t.Fatalf("round %d: a buffer outside the region", round)
			}
			bufs <- b
		}
		close(bufs)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range bufs {
					b.Release()
					runtime.Gosched()
				}
			}()
		}
		wg.Wait()
		if p.AllocCount() != 0 || p.AllocBytes() != 0 {
			t.Fatalf("round %d: %d buffers, %d bytes counted out", round, p.AllocCount(), p.AllocBytes())
		}
	}
}

// TestPoolLimitHoldsAcrossPs: goroutines on every P allocate against a
// limit, each counted on its own P's shard; the buffers held at once never
// exceed the limit, and the counts return to zero.
func TestPoolLimitHoldsAcrossPs(t *testing.T) {
	const limit = 6
	p, err := NewFixedPool(256, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetAllocLimit(limit); err != nil {
		t.Fatal(err)
	}
	var held, peak atomic.Int32
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []Frame
			for i := range 5000 {
				if f, err := p.AcceptReq(100, true); err == nil {
					n := held.Add(1)
					for {
						old := peak.Load()
						if n <= old || peak.CompareAndSwap(old, n) {
							break
						}
					}
					mine = append(mine, f)
				} else if !errors.Is(err, ErrPoolExhausted) {
					t.Error(err)
					return
				}
				if len(mine) > 0 && (i+g)%3 != 0 {
					held.Add(-1)
					mine[0].Release()
					mine = mine[1:]
				}
			}
			for _, f := range mine {
				held.Add(-1)
				f.Release()
			}
		}()
	}
	wg.Wait()
	if got := peak.Load(); got > limit {
		t.Fatalf("%d buffers held at once with a limit of %d", got, limit)
	}
	if p.AllocCount() != 0 || p.AllocBytes() != 0 {
		t.Fatalf("%d buffers, %d bytes counted out after every release", p.AllocCount(), p.AllocBytes())
	}
}
