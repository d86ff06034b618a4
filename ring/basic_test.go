package ring

import (
	"math"
	"runtime"
	"testing"
	"time"
)

// starts are index origins: zero, and just before the 64-bit counters wrap.
var starts = []uint64{0, math.MaxUint64 - 5, math.MaxUint64}

func TestFullAndEmpty(t *testing.T) {
	for _, k := range kinds[int]() {
		for _, start := range starts {
			q := mustMake(t, k, 8, start)
			if v, ok := q.TryPop(); ok {
				t.Fatalf("%s start=%d: TryPop on empty = %d, true", k.name, start, v)
			}
			for i := range 8 {
				if !q.TryPush(i) {
					t.Fatalf("%s start=%d: TryPush #%d refused below capacity", k.name, start, i)
				}
				if q.Len() != i+1 {
					t.Fatalf("%s start=%d: Len = %d after %d pushes", k.name, start, q.Len(), i+1)
				}
			}
			if q.TryPush(99) {
				t.Fatalf("%s start=%d: TryPush accepted on a full ring", k.name, start)
			}
			if n := q.PushBatch([]int{1, 2}); n != 0 {
				t.Fatalf("%s start=%d: PushBatch on full ring = %d", k.name, start, n)
			}
			for i := range 8 {
				v, ok := q.TryPop()
				if !ok || v != i {
					t.Fatalf("%s start=%d: TryPop = %d, %v; want %d, true", k.name, start, v, ok, i)
				}
			}
			if v, ok := q.TryPop(); ok {
				t.Fatalf("%s start=%d: TryPop after draining = %d, true", k.name, start, v)
			}
			if n := q.PopBatch(make([]int, 4)); n != 0 {
				t.Fatalf("%s start=%d: PopBatch on empty = %d", k.name, start, n)
			}
			if q.Len() != 0 {
				t.Fatalf("%s start=%d: Len = %d on empty", k.name, start, q.Len())
			}
		}
	}
}

// TestWrapAround runs many laps from an origin just below 2^64, so both the
// slot index (mask) and the 64-bit counters wrap, with batches that
// straddle the end of the slot array.
func TestWrapAround(t *testing.T) {
	for _, k := range kinds[int]() {
		const capacity = 16
		q := mustMake(t, k, capacity, math.MaxUint64-100)
		next, want := 0, 0
		in := make([]int, 11)
		out := make([]int, 7)
		for lap := 0; lap < 100; lap++ {
			for i := range in {
				in[i] = next + i
			}
			n := q.PushBatch(in)
			if exp := min(len(in), capacity-(next-want)); n != exp {
				t.Fatalf("%s lap %d: PushBatch = %d, want %d", k.name, lap, n, exp)
			}
			next += n
			if q.Len() != next-want {
				t.Fatalf("%s lap %d: Len = %d, want %d", k.name, lap, q.Len(), next-want)
			}
			m := q.PopBatch(out)
			if exp := min(len(out), next-want); m != exp {
				t.Fatalf("%s lap %d: PopBatch = %d, want %d", k.name, lap, m, exp)
			}
			for i := range m {
				if out[i] != want {
					t.Fatalf("%s lap %d: popped %d, want %d", k.name, lap, out[i], want)
				}
				want++
			}
		}
		for {
			v, ok := q.TryPop()
			if !ok {
				break
			}
			if v != want {
				t.Fatalf("%s: drained %d, want %d", k.name, v, want)
			}
			want++
		}
		if want != next {
			t.Fatalf("%s: got %d items back, pushed %d", k.name, want, next)
		}
	}
}

func TestBatchLargerThanCapacity(t *testing.T) {
	for _, k := range kinds[int]() {
		q := mustMake(t, k, 4, math.MaxUint64-1)
		in := []int{10, 11, 12, 13, 14, 15}
		if n := q.PushBatch(in); n != 4 {
			t.Fatalf("%s: PushBatch(6) into 4 slots = %d", k.name, n)
		}
		out := make([]int, 10)
		if n := q.PopBatch(out); n != 4 || out[0] != 10 || out[3] != 13 {
			t.Fatalf("%s: PopBatch = %d %v", k.name, n, out[:n])
		}
		if q.PushBatch(nil) != 0 || q.PopBatch(nil) != 0 {
			t.Fatalf("%s: empty batches must move nothing", k.name)
		}
	}
}

// blob is large enough to avoid the tiny allocator, whose shared blocks
// would delay the cleanup this test waits for.
type blob struct {
	b [64]byte
}

// TestPoppedSlotsReleased checks that a popped pointer is no longer
// reachable from the ring: the object's cleanup must run after a GC.
func TestPoppedSlotsReleased(t *testing.T) {
	for _, k := range kinds[*blob]() {
		for _, batch := range []bool{false, true} {
			q := mustMake(t, k, 8, math.MaxUint64-2)
			freed := make(chan int, 8)
			for i := range 8 {
				p := &blob{}
				runtime.AddCleanup(p, func(i int) { freed <- i }, i)
				if !q.TryPush(p) {
					t.Fatalf("%s: push %d refused", k.name, i)
				}
			}
			// Pop the first five; the last three stay in the ring.
			if batch {
				if n := q.PopBatch(make([]*blob, 5)); n != 5 {
					t.Fatalf("%s: PopBatch = %d", k.name, n)
				}
			} else {
				for range 5 {
					if _, ok := q.TryPop(); !ok {
						t.Fatalf("%s: TryPop failed", k.name)
					}
				}
			}
			got := map[int]bool{}
			deadline := time.Now().Add(5 * time.Second)
			for len(got) < 5 && time.Now().Before(deadline) {
				runtime.GC()
				select {
				case i := <-freed:
					got[i] = true
				case <-time.After(10 * time.Millisecond):
				}
			}
			for i := range 5 {
				if !got[i] {
					t.Errorf("%s batch=%v: popped item %d still reachable", k.name, batch, i)
				}
			}
			for i := 5; i < 8; i++ {
				if got[i] {
					t.Errorf("%s batch=%v: item %d collected while still in the ring", k.name, batch, i)
				}
			}
			runtime.KeepAlive(q)
		}
	}
}
