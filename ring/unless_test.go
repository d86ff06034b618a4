package ring

import (
	"fmt"
	"sync"
	"testing"
)

// TestMPMCPushUnlessFullOnANearlyFullRing keeps an MPMC ring two items
// short of full while two goroutines pop an item and push it straight
// back, the way a pool's free list is used. Their pushes reach slots whose
// consumers have only just claimed them, where TryPush gives up; the ring
// is never full, so PushUnlessFull must never fail, PopUnlessEmpty must
// never find the ring empty, and every item must be there at the end.
func TestMPMCPushUnlessFullOnANearlyFullRing(t *testing.T) {
	const capacity = 64
	const items = capacity - 2
	rounds := 200_000
	if raceEnabled {
		rounds = 20_000
	}
	r, err := NewMPMC[int](capacity)
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if !r.PushUnlessFull(i) {
			t.Fatalf("push %d of %d refused", i, items)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				v, ok := r.PopUnlessEmpty()
				if !ok {
					errs <- fmt.Errorf("pop found the ring empty with %d items in it", r.Len())
					return
				}
				if !r.PushUnlessFull(v) {
					errs <- fmt.Errorf("push refused with %d of %d slots taken", r.Len(), capacity)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := make([]bool, items)
	for range items {
		v, ok := r.TryPop()
		if !ok {
			t.Fatal("items lost: the ring ran empty early")
		}
		if seen[v] {
			t.Fatalf("item %d popped twice", v)
		}
		seen[v] = true
	}
	if _, ok := r.TryPop(); ok {
		t.Fatal("more items than were pushed")
	}
}

// TestMPMCUnlessCallsFailOnFullAndEmpty checks that the waiting variants
// still fail, without waiting, on a ring that really is full or empty.
func TestMPMCUnlessCallsFailOnFullAndEmpty(t *testing.T) {
	r, err := NewMPMC[int](4)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.PopUnlessEmpty(); ok {
		t.Fatal("pop from an empty ring succeeded")
	}
	for i := range 4 {
		if !r.PushUnlessFull(i) {
			t.Fatalf("push %d refused", i)
		}
	}
	if r.PushUnlessFull(4) {
		t.Fatal("push into a full ring succeeded")
	}
	for i := range 4 {
		if v, ok := r.PopUnlessEmpty(); !ok || v != i {
			t.Fatalf("pop %d: %d, %v", i, v, ok)
		}
	}
	if _, ok := r.PopUnlessEmpty(); ok {
		t.Fatal("pop from an emptied ring succeeded")
	}
}
