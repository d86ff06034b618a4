package bench

import (
	"runtime"
	"testing"
)

// TestReserveProcs checks that low-latency sockets keep GOMAXPROCS one
// above their number, nested and concurrent runs adding up, and that it
// returns to its value when the last is given back.
func TestReserveProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	a := reserveProcs(1)
	if n := runtime.GOMAXPROCS(0); n != 2 {
		t.Fatalf("one socket: GOMAXPROCS %d, want 2", n)
	}
	b := reserveProcs(2)
	if n := runtime.GOMAXPROCS(0); n != 4 {
		t.Fatalf("three sockets: GOMAXPROCS %d, want 4", n)
	}
	a()
	a() // twice is once
	if n := runtime.GOMAXPROCS(0); n != 4 {
		t.Fatalf("after the first release: GOMAXPROCS %d, want 4 until the last", n)
	}
	b()
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("after the last release: GOMAXPROCS %d, want 1 again", n)
	}
	reserveProcs(0)()
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("no sockets: GOMAXPROCS %d, want 1", n)
	}
}
