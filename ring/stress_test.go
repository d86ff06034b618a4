package ring

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stressTimeout bounds every concurrent test; a lost wake-up turns into a
// failure with a goroutine dump rather than a hung test binary.
const stressTimeout = 60 * time.Second

// setSpin changes how long the blocking calls spin before parking; 0
// makes them park at the first miss, which exercises the wake-up protocol
// far more often than the default.
func setSpin[T any](q queue[T], spin int) {
	switch r := q.(type) {
	case *SPSC[T]:
		r.spin = spin
	case *MPMC[T]:
		r.spin = spin
	}
}

// parks reports how often consumers and producers blocked.
func parks[T any](q queue[T]) (pop, push uint64) {
	switch r := q.(type) {
	case *SPSC[T]:
		return r.popWait.parks.Load(), r.pushWait.parks.Load()
	case *MPMC[T]:
		return r.popWait.parks.Load(), r.pushWait.parks.Load()
	}
	return 0, 0
}

// produce pushes vals in order, choosing the API call at random each time,
// and reports the first error.
func produce(q queue[uint64], vals func(i int) uint64, n int, rng *rand.Rand) error {
	batch := make([]uint64, 0, 48)
	for i := 0; i < n; {
		switch rng.IntN(4) {
		case 0:
			if q.TryPush(vals(i)) {
				i++
			} else {
				runtime.Gosched()
			}
		case 1:
			batch = batch[:0]
			for j := i; j < n && len(batch) < 1+rng.IntN(cap(batch)); j++ {
				batch = append(batch, vals(j))
			}
			i += q.PushBatch(batch)
		default:
			if err := q.PushWait(vals(i)); err != nil {
				return err
			}
			i++
		}
	}
	return nil
}

// consume pops until the ring reports ErrClosed, choosing the API call at
// random, and hands every item to see in the order it was popped.
func consume(q queue[uint64], rng *rand.Rand, see func(uint64)) error {
	dst := make([]uint64, 40)
	for {
		n := 0
		switch rng.IntN(4) {
		case 0:
			if v, ok := q.TryPop(); ok {
				dst[0], n = v, 1
			}
		case 1:
			n = q.PopBatch(dst[:1+rng.IntN(len(dst))])
		}
		if n == 0 {
			var err error
			n, err = q.PopWait(dst[:1+rng.IntN(len(dst))])
			if errors.Is(err, ErrClosed) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		for _, v := range dst[:n] {
			see(v)
		}
	}
}

// runSPSC moves n items through q and checks they arrive in total order.
func runSPSC(t *testing.T, q queue[uint64], n int) {
	t.Helper()
	var perr, cerr error
	var got uint64
	within(t, stressTimeout, "SPSC transfer", func() {
		var wg sync.WaitGroup
		wg.Go(func() {
			perr = produce(q, func(i int) uint64 { return uint64(i) }, n, rand.New(rand.NewPCG(1, 2)))
			q.Close()
		})
		wg.Go(func() {
			cerr = consume(q, rand.New(rand.NewPCG(3, 4)), func(v uint64) {
				if v != got && cerr == nil {
					cerr = errors.New("out of order")
					t.Errorf("item #%d is %d", got, v)
				}
				got++
			})
		})
		wg.Wait()
	})
	if perr != nil || cerr != nil {
		t.Fatalf("producer: %v, consumer: %v", perr, cerr)
	}
	if got != uint64(n) {
		t.Fatalf("consumer saw %d items, want %d", got, n)
	}
}

func TestSPSCStress(t *testing.T) {
	q, err := newSPSC[uint64](64, math.MaxUint64-1000)
	if err != nil {
		t.Fatal(err)
	}
	runSPSC(t, q, scaled(8_000_000))
}

// TestSPSCParking uses a two-slot ring and no spinning, so nearly every
// miss parks: a single lost wake-up would hang the transfer.
func TestSPSCParking(t *testing.T) {
	q, err := newSPSC[uint64](2, math.MaxUint64-7)
	if err != nil {
		t.Fatal(err)
	}
	setSpin[uint64](q, 0)
	runSPSC(t, q, scaled(1_000_000))
	pop, push := parks[uint64](q)
	t.Logf("parks: consumer %d, producer %d", pop, push)
	if pop == 0 || push == 0 {
		t.Fatalf("test did not exercise parking (consumer %d, producer %d)", pop, push)
	}
}

// runMPMC moves n items from producers to consumers and checks that every
// item arrives exactly once and that each consumer sees each producer's
// items in the order they were pushed.
func runMPMC(t *testing.T, q queue[uint64], producers, consumers, n int) {
	t.Helper()
	per := n / producers
	const shift = 40
	seen := make([]atomic.Uint32, producers*per)
	var failures atomic.Int64
	within(t, stressTimeout, "MPMC transfer", func() {
		var pwg, cwg sync.WaitGroup
		for c := range consumers {
			cwg.Go(func() {
				last := make([]int64, producers)
				for i := range last {
					last[i] = -1
				}
				err := consume(q, rand.New(rand.NewPCG(uint64(c), 99)), func(v uint64) {
					p, s := int(v>>shift), int64(v&(1<<shift-1))
					if p >= producers || s >= int64(per) {
						failures.Add(1)
						return
					}
					if s <= last[p] {
						failures.Add(1)
					}
					last[p] = s
					seen[p*per+int(s)].Add(1)
				})
				if err != nil {
					t.Errorf("consumer %d: %v", c, err)
				}
			})
		}
		for p := range producers {
			pwg.Go(func() {
				vals := func(i int) uint64 { return uint64(p)<<shift | uint64(i) }
				if err := produce(q, vals, per, rand.New(rand.NewPCG(uint64(p), 7))); err != nil {
					t.Errorf("producer %d: %v", p, err)
				}
			})
		}
		pwg.Wait()
		q.Close()
		cwg.Wait()
	})
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d items out of per-producer order or malformed", f)
	}
	for i := range seen {
		if c := seen[i].Load(); c != 1 {
			t.Fatalf("producer %d item %d seen %d times", i/per, i%per, c)
		}
	}
}

func TestMPMCStress(t *testing.T) {
	q, err := newMPMC[uint64](64, math.MaxUint64-1000)
	if err != nil {
		t.Fatal(err)
	}
	runMPMC(t, q, 4, 4, scaled(8_000_000))
}

// TestMPMCParking: many waiters on each side of a four-slot ring, parking
// at the first miss, exercises the token hand-off between waiters.
func TestMPMCParking(t *testing.T) {
	q, err := newMPMC[uint64](4, math.MaxUint64-7)
	if err != nil {
		t.Fatal(err)
	}
	setSpin[uint64](q, 0)
	runMPMC(t, q, 3, 3, scaled(1_000_000))
	pop, push := parks[uint64](q)
	t.Logf("parks: consumers %d, producers %d", pop, push)
	if pop == 0 || push == 0 {
		t.Fatalf("test did not exercise parking (consumers %d, producers %d)", pop, push)
	}
}

// TestMPMCAsSPSC checks the total order guarantee of one producer and one
// consumer on the MPMC ring too.
func TestMPMCAsSPSC(t *testing.T) {
	q, err := newMPMC[uint64](32, math.MaxUint64-100)
	if err != nil {
		t.Fatal(err)
	}
	runSPSC(t, q, scaled(2_000_000))
}
