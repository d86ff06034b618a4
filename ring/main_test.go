package ring

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind, which
// would mean a waiter that Close or a wake-up failed to release.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// queue is the method set shared by SPSC and MPMC, so behavioural tests
// run against both.
type queue[T any] interface {
	TryPush(T) bool
	TryPop() (T, bool)
	PushBatch([]T) int
	PopBatch([]T) int
	Len() int
	Cap() int
	PopWait([]T) (int, error)
	PushWait(T) error
	Close()
}

var (
	_ queue[int] = (*SPSC[int])(nil)
	_ queue[int] = (*MPMC[int])(nil)
)

// kind builds one of the ring types with its indices starting at start.
type kind[T any] struct {
	name string
	make func(capacity int, start uint64) (queue[T], error)
}

func kinds[T any]() []kind[T] {
	return []kind[T]{
		{"SPSC", func(c int, s uint64) (queue[T], error) {
			r, err := newSPSC[T](c, s)
			if err != nil {
				return nil, err
			}
			return r, nil
		}},
		{"MPMC", func(c int, s uint64) (queue[T], error) {
			r, err := newMPMC[T](c, s)
			if err != nil {
				return nil, err
			}
			return r, nil
		}},
	}
}

func mustMake[T any](t testing.TB, k kind[T], capacity int, start uint64) queue[T] {
	t.Helper()
	q, err := k.make(capacity, start)
	if err != nil {
		t.Fatalf("%s(%d): %v", k.name, capacity, err)
	}
	return q
}

// scaled picks the item count for a concurrent test: full size normally,
// reduced under -race or -short but never below what still exercises
// thousands of wrap-arounds and wake-ups.
func scaled(full int) int {
	if testing.Short() {
		return max(full/64, 10_000) // short: a smoke-sized transfer
	}
	if raceEnabled {
		return max(full/4, 200_000)
	}
	return full
}

// within runs fn and fails the test if it does not return within d, so a
// lost wake-up shows up as a failure instead of a hung run.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish within %v (lost wake-up?)\n%s", what, d, goroutines())
	}
}

func goroutines() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// waitParked waits until n goroutines are blocked inside the ring's
// park step (a select on its wake channel), proving that waiters sleep
// rather than spin or poll.
func waitParked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := countParked(); got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d goroutines parked in the ring, have %d\n%s", n, countParked(), goroutines())
		}
		time.Sleep(time.Millisecond)
	}
}

func countParked() int {
	count := 0
	for _, g := range strings.Split(goroutines(), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[select") && strings.Contains(g, "(*waitQueue).block") {
			count++
		}
	}
	return count
}
