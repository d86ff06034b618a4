package ring

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
)

func TestHasPointers(t *testing.T) {
	type flat struct {
		a int64
		b [4]uint32
		c float64
	}
	type withString struct {
		n int
		s string
	}
	check := func(name string, got, want bool) {
		t.Helper()
		if got != want {
			t.Errorf("hasPointers[%s] = %v, want %v", name, got, want)
		}
	}
	check("uint64", hasPointers[uint64](), false)
	check("flat struct", hasPointers[flat](), false)
	check("[0]*int", hasPointers[[0]*int](), false)
	check("[2]flat", hasPointers[[2]flat](), false)
	check("*int", hasPointers[*int](), true)
	check("string", hasPointers[string](), true)
	check("[]byte", hasPointers[[]byte](), true)
	check("struct with string", hasPointers[withString](), true)
	check("[3]*int", hasPointers[[3]*int](), true)
	check("any", hasPointers[any](), true)
	check("map", hasPointers[map[int]int](), true)
	check("chan", hasPointers[chan int](), true)
	check("func", hasPointers[func()](), true)
	check("unsafe.Pointer", hasPointers[unsafe.Pointer](), true)
}

// TestSPSCPopDoesNotKeepPointersAlive: an SPSC ring of pointers zeroes the
// slots it pops (pointer-free rings skip that), so a popped object the
// caller dropped is collected.
func TestSPSCPopDoesNotKeepPointersAlive(t *testing.T) {
	r, err := NewSPSC[*[64]byte](8)
	if err != nil {
		t.Fatal(err)
	}
	collected := make(chan struct{}, 2)
	for range 2 {
		v := new([64]byte)
		runtime.AddCleanup(v, func(struct{}) { collected <- struct{}{} }, struct{}{})
		r.TryPush(v)
	}
	if _, ok := r.TryPop(); !ok {
		t.Fatal("TryPop on a ring of two")
	}
	if n := r.PopBatch(make([]*[64]byte, 4)); n != 1 {
		t.Fatalf("PopBatch = %d, want 1", n)
	}
	deadline := time.After(5 * time.Second)
	for got := 0; got < 2; {
		runtime.GC()
		select {
		case <-collected:
			got++
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%d of 2 popped objects still reachable through the ring", 2-got)
		}
	}
	runtime.KeepAlive(r)
}
