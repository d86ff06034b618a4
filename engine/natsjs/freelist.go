package natsjs

import "sync"

// freeList keeps settled batches of the standard size for reuse, last in
// first out: the batch settled last is the one most likely still in the
// CPU's cache, so the next frames are copied into warm memory rather than
// into the coldest of up to MaxPendingBytes of batches.
type freeList struct {
	mu    sync.Mutex
	items []*batch
}

func newFreeList(limit int) *freeList { return &freeList{items: make([]*batch, 0, limit)} }

// get returns a free batch, or nil if there is none.
func (l *freeList) get() *batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.items)
	if n == 0 {
		return nil
	}
	b := l.items[n-1]
	l.items[n-1] = nil
	l.items = l.items[:n-1]
	return b
}

// put keeps b if the list is below its limit, else leaves it to the
// garbage collector.
func (l *freeList) put(b *batch) {
	l.mu.Lock()
	if len(l.items) < cap(l.items) {
		l.items = append(l.items, b)
	}
	l.mu.Unlock()
}
