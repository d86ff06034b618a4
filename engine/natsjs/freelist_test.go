package natsjs

import "testing"

// TestFreeListLIFO: the batch put last comes back first, an empty list
// gives nil, and a full list drops what is put beyond its limit.
func TestFreeListLIFO(t *testing.T) {
	l := newFreeList(2)
	if b := l.get(); b != nil {
		t.Fatalf("empty list gave %p", b)
	}
	a, b, c := &batch{}, &batch{}, &batch{}
	l.put(a)
	l.put(b)
	l.put(c) // beyond the limit: dropped
	if got := l.get(); got != b {
		t.Fatalf("first get: %p, want the last put %p", got, b)
	}
	if got := l.get(); got != a {
		t.Fatalf("second get: %p, want %p", got, a)
	}
	if got := l.get(); got != nil {
		t.Fatalf("third get: %p, want nil (c was beyond the limit)", got)
	}
}
