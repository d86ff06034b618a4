package udp

import (
	"testing"

	"udpstream.dev/engine"
	"udpstream.dev/engine/internal/poolx"
)

// TestRxSlotsCompact: when the pool runs dry, the buffers still posted in
// slots a short read did not reach move in front of the scratch slots, so
// the next reads fill them instead of dropping into the scratch.
func TestRxSlotsCompact(t *testing.T) {
	pool := limitedPool(t, 4)
	slots := newRxSlots(pool, 4, 256)
	defer slots.release()
	if slots.short {
		t.Fatal("a pool of 4 left a slot of 4 without a buffer")
	}
	// Reads of one datagram each, whose frames a slave keeps: slot 0 is
	// refilled from the pool until it has nothing left.
	var kept []*poolx.Buffer
	for range 2 {
		b := slots.blks[0]
		b.Retain()
		kept = append(kept, b)
		slots.recycle(0)
		if slots.short {
			slots.compact(1)
		}
		if slots.blks[0] == nil {
			t.Fatalf("slot 0 got the scratch while slots hold %v", posted(slots))
		}
	}
	if got := posted(slots); got != "bbss" {
		t.Fatalf("slots %s, want bbss", got)
	}
	for _, b := range kept {
		b.Release()
	}
}

// TestRxSlotsCompactOrder: the buffers end up first, the scratch last,
// whatever slots the scratch took.
func TestRxSlotsCompactOrder(t *testing.T) {
	pool := limitedPool(t, 4)
	slots := newRxSlots(pool, 4, 256)
	defer slots.release()
	for _, i := range []int{0, 2} { // two slots lose their buffer to a slave
		slots.blks[i].Release()
		slots.blks[i], slots.bufs[i] = nil, slots.scratch
	}
	slots.short = true
	slots.compact(4)
	if got := posted(slots); got != "bbss" {
		t.Fatalf("slots %s, want bbss", got)
	}
	if !slots.short {
		t.Fatal("short cleared while the scratch is still posted")
	}
	for i, b := range slots.blks {
		if b != nil && &slots.bufs[i][0] != &b.Memory()[0] {
			t.Fatalf("slot %d posts memory that is not its buffer's", i)
		}
	}
}

// limitedPool is a pool of 256-byte buffers that hands out at most n.
func limitedPool(t *testing.T, n int) *engine.Pool {
	t.Helper()
	pool, err := engine.NewFixedPool(256, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.SetAllocLimit(n); err != nil {
		t.Fatal(err)
	}
	return pool
}

// posted says per slot whether it holds a buffer (b) or the scratch (s).
func posted(r *rxSlots) string {
	out := make([]byte, len(r.blks))
	for i, b := range r.blks {
		out[i] = 'b'
		if b == nil {
			out[i] = 's'
		}
	}
	return string(out)
}
