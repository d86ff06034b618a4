package ring

import (
	"errors"
	"io"
	"math"
	"sync"
	"testing"
	"time"
)

func TestPopWaitParksUntilPush(t *testing.T) {
	for _, k := range kinds[int]() {
		q := mustMake(t, k, 4, math.MaxUint64)
		type result struct {
			n   int
			v   int
			err error
		}
		res := make(chan result, 1)
		go func() {
			dst := make([]int, 4)
			n, err := q.PopWait(dst)
			res <- result{n, dst[0], err}
		}()
		waitParked(t, 1)
		select {
		case r := <-res:
			t.Fatalf("%s: PopWait returned %+v on an empty ring", k.name, r)
		default:
		}
		q.TryPush(42)
		select {
		case r := <-res:
			if r.err != nil || r.n != 1 || r.v != 42 {
				t.Fatalf("%s: PopWait = %+v, want 1 item 42", k.name, r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: PopWait not woken by TryPush", k.name)
		}
	}
}

func TestPushWaitParksUntilPop(t *testing.T) {
	for _, k := range kinds[int]() {
		q := mustMake(t, k, 2, math.MaxUint64)
		q.TryPush(1)
		q.TryPush(2)
		res := make(chan error, 1)
		go func() { res <- q.PushWait(3) }()
		waitParked(t, 1)
		select {
		case err := <-res:
			t.Fatalf("%s: PushWait returned %v on a full ring", k.name, err)
		default:
		}
		if v, _ := q.TryPop(); v != 1 {
			t.Fatalf("%s: popped %d, want 1", k.name, v)
		}
		select {
		case err := <-res:
			if err != nil {
				t.Fatalf("%s: PushWait = %v", k.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: PushWait not woken by TryPop", k.name)
		}
		out := make([]int, 4)
		if n := q.PopBatch(out); n != 2 || out[0] != 2 || out[1] != 3 {
			t.Fatalf("%s: left in ring %v, want [2 3]", k.name, out[:n])
		}
	}
}

func TestCloseWakesWaiters(t *testing.T) {
	for _, k := range kinds[int]() {
		// One ring empty with a waiting consumer, one full with a waiting
		// producer; for MPMC several of each.
		waiters := 1
		if k.name == "MPMC" {
			waiters = 3
		}
		empty := mustMake(t, k, 2, 0)
		full := mustMake(t, k, 2, 0)
		full.TryPush(1)
		full.TryPush(2)
		errs := make(chan error, 2*waiters)
		for range waiters {
			go func() {
				_, err := empty.PopWait(make([]int, 1))
				errs <- err
			}()
			go func() { errs <- full.PushWait(3) }()
		}
		waitParked(t, 2*waiters)
		empty.Close()
		full.Close()
		for range 2 * waiters {
			select {
			case err := <-errs:
				if !errors.Is(err, ErrClosed) {
					t.Fatalf("%s: woken waiter returned %v, want ErrClosed", k.name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: Close did not wake every waiter\n%s", k.name, goroutines())
			}
		}
	}
}

func TestCloseDrainsThenErrClosed(t *testing.T) {
	for _, k := range kinds[int]() {
		q := mustMake(t, k, 8, math.MaxUint64-3)
		for i := range 5 {
			q.TryPush(i)
		}
		q.Close()
		q.Close() // idempotent
		if err := q.PushWait(9); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: PushWait after Close = %v, want ErrClosed", k.name, err)
		}
		dst := make([]int, 3)
		var got []int
		for {
			n, err := q.PopWait(dst)
			if errors.Is(err, ErrClosed) {
				if n != 0 {
					t.Fatalf("%s: ErrClosed with n=%d", k.name, n)
				}
				break
			}
			if err != nil || n == 0 {
				t.Fatalf("%s: PopWait = %d, %v", k.name, n, err)
			}
			got = append(got, dst[:n]...)
		}
		if len(got) != 5 {
			t.Fatalf("%s: drained %v, want 0..4", k.name, got)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("%s: drained %v, want 0..4", k.name, got)
			}
		}
		// Still closed and empty: returns at once.
		if _, err := q.PopWait(dst); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: second PopWait = %v", k.name, err)
		}
	}
}

func TestCloseConcurrent(t *testing.T) {
	for _, k := range kinds[int]() {
		q := mustMake(t, k, 4, 0)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(q.Close)
		}
		wg.Wait()
		if _, err := q.PopWait(make([]int, 1)); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: PopWait after concurrent Close = %v", k.name, err)
		}
	}
}

func TestPopWaitShortBuffer(t *testing.T) {
	for _, k := range kinds[int]() {
		q := mustMake(t, k, 4, 0)
		q.TryPush(1)
		if n, err := q.PopWait(nil); n != 0 || !errors.Is(err, io.ErrShortBuffer) {
			t.Fatalf("%s: PopWait(nil) = %d, %v; want io.ErrShortBuffer", k.name, n, err)
		}
		if q.Len() != 1 {
			t.Fatalf("%s: PopWait(nil) consumed an item", k.name)
		}
	}
}

// TestMPMCTokenHandOff: two consumers sleep, one batch publishes two items
// with a single notification. The consumer that takes the token gets one
// item and must wake the other for the second.
func TestMPMCTokenHandOff(t *testing.T) {
	q, err := NewMPMC[int](8)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 2)
	for range 2 {
		go func() {
			dst := make([]int, 1)
			if n, err := q.PopWait(dst); n == 1 && err == nil {
				got <- dst[0]
			} else {
				got <- -1
			}
		}()
	}
	waitParked(t, 2)
	if n := q.PushBatch([]int{7, 8}); n != 2 {
		t.Fatalf("PushBatch = %d", n)
	}
	sum := 0
	for range 2 {
		select {
		case v := <-got:
			sum += v
		case <-time.After(10 * time.Second):
			q.Close()
			t.Fatalf("a consumer stayed asleep with an item ready\n%s", goroutines())
		}
	}
	if sum != 15 {
		t.Fatalf("consumers got items summing to %d, want 15", sum)
	}

	// The same for producers: two sleep on a full ring, one batch pop frees
	// two slots with a single notification.
	for q.TryPush(0) {
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- q.PushWait(1) }()
	}
	waitParked(t, 2)
	if n := q.PopBatch(make([]int, 2)); n != 2 {
		t.Fatalf("PopBatch = %d", n)
	}
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("PushWait = %v", err)
			}
		case <-time.After(10 * time.Second):
			q.Close()
			t.Fatalf("a producer stayed asleep with a slot free\n%s", goroutines())
		}
	}
}

// TestMPMCDrainWaitsForClaimedSlot simulates a producer preempted between
// claiming a position and publishing it, while a later push completes and
// Close follows. PopWait must not report ErrClosed while the completed
// item is stuck behind the claimed position.
func TestMPMCDrainWaitsForClaimedSlot(t *testing.T) {
	q, err := newMPMC[int](8, math.MaxUint64)
	if err != nil {
		t.Fatal(err)
	}
	claimed := q.tail.Add(1) - 1 // the stalled producer's position
	if !q.TryPush(2) {
		t.Fatal("TryPush refused")
	}
	q.Close()
	type result struct {
		vals []int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		var r result
		dst := make([]int, 4)
		for {
			n, err := q.PopWait(dst)
			if err != nil {
				r.err = err
				break
			}
			r.vals = append(r.vals, dst[:n]...)
		}
		res <- r
	}()
	select {
	case r := <-res:
		t.Fatalf("PopWait finished (%v, %v) with a claimed position pending", r.vals, r.err)
	case <-time.After(20 * time.Millisecond):
	}
	s := &q.slots[claimed&q.mask]
	s.val = 1
	s.seq.Store(claimed + 1)
	select {
	case r := <-res:
		if !errors.Is(r.err, ErrClosed) || len(r.vals) != 2 || r.vals[0] != 1 || r.vals[1] != 2 {
			t.Fatalf("drained %v then %v, want [1 2] then ErrClosed", r.vals, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PopWait did not finish after the claimed position was published")
	}
}
