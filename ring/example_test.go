package ring_test

import (
	"errors"
	"fmt"

	"udpstream.dev/ring"
)

// A producer goroutine hands items to a consumer that sleeps while the ring
// is empty; Close ends the consumer's loop once everything is taken.
func ExampleSPSC() {
	r, err := ring.NewSPSC[int](8)
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() {
		for i := 1; i <= 100; i++ {
			if err := r.PushWait(i); err != nil {
				return
			}
		}
		r.Close()
	}()

	sum, batch := 0, make([]int, 16)
	for {
		n, err := r.PopWait(batch)
		if errors.Is(err, ring.ErrClosed) {
			break
		}
		for _, v := range batch[:n] {
			sum += v
		}
	}
	fmt.Println(sum)
	// Output: 5050
}

// An MPMC ring as a lock-free free list: any goroutine may take a buffer
// and any goroutine may return it.
func ExampleMPMC() {
	free, err := ring.NewMPMC[*[]byte](4)
	if err != nil {
		fmt.Println(err)
		return
	}
	for range free.Cap() {
		b := make([]byte, 2048)
		free.TryPush(&b)
	}

	buf, ok := free.TryPop()
	fmt.Println(ok, len(*buf), free.Len())
	free.TryPush(buf)
	fmt.Println(free.Len())
	// Output:
	// true 2048 3
	// 4
}

func ExampleNewSPSC() {
	_, err := ring.NewSPSC[int](1000)
	fmt.Println(err)
	// Output: ring: invalid capacity: 1000 is not a power of two (nearest: 512 or 1024)
}
