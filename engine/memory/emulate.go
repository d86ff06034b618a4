package memory

import (
	"sync"
	"sync/atomic"
)

// pageSize is the granule of Emulate's sparse memory.
const pageSize = 4096

// Emulate is a sparse memory-backed Slave (Rogue's memory::Emulate): pages
// of 4 KiB are made, zeroed, on first write. Write and Post store; every
// other type reads. Transactions complete inside DoTransaction. Like
// Rogue's, it checks neither alignment nor size against its own minimum
// and maximum, which it only reports; SetSize bounds the memory.
type Emulate struct {
	minA, maxA uint32
	size       atomic.Uint64 // 0: the whole 64-bit space

	mu    sync.RWMutex
	pages map[uint64]*[pageSize]byte

	reads, writes atomic.Uint64
}

// NewEmulate returns an empty memory reporting minAccess and maxAccess.
func NewEmulate(minAccess, maxAccess uint32) *Emulate {
	return &Emulate{minA: minAccess, maxA: maxAccess, pages: map[uint64]*[pageSize]byte{}}
}

// SetSize limits the memory to addresses [0, n); accesses beyond fail with
// ErrRange. 0 removes the limit.
func (e *Emulate) SetSize(n uint64) { e.size.Store(n) }

func (e *Emulate) MinAccess() uint32 { return e.minA }
func (e *Emulate) MaxAccess() uint32 { return e.maxA }
func (e *Emulate) Address() uint64   { return 0 }

// Pages is the number of pages allocated.
func (e *Emulate) Pages() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.pages)
}

// Counts returns the transactions served: reads (every non-write type)
// and writes.
func (e *Emulate) Counts() (reads, writes uint64) { return e.reads.Load(), e.writes.Load() }

// DoTransaction serves tx from memory and completes it.
func (e *Emulate) DoTransaction(tx *Transaction) {
	n := uint64(len(tx.Data))
	if lim := e.size.Load(); lim != 0 && (tx.Address >= lim || n > lim-tx.Address) {
		tx.Complete(Errorf(tx.id, ErrRange, "Transaction address 0x%x size %d beyond memory of %d bytes", tx.Address, n, lim))
		return
	}
	if tx.Address+n < tx.Address && tx.Address+n != 0 {
		tx.Complete(Errorf(tx.id, ErrRange, "Transaction address 0x%x size %d wraps around", tx.Address, n))
		return
	}
	if tx.Type.Writes() {
		e.store(tx.Address, tx.Data)
		e.writes.Add(1)
	} else {
		e.load(tx.Address, tx.Data)
		e.reads.Add(1)
	}
	tx.Complete(nil)
}

// Store and Load give direct access to the memory (device set-up, tests).
func (e *Emulate) Store(addr uint64, p []byte) { e.store(addr, p) }
func (e *Emulate) Load(addr uint64, p []byte)  { e.load(addr, p) }

func (e *Emulate) store(addr uint64, p []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(p) > 0 {
		pg, off := addr/pageSize, addr%pageSize
		page := e.pages[pg]
		if page == nil {
			page = new([pageSize]byte)
			e.pages[pg] = page
		}
		k := copy(page[off:], p)
		p, addr = p[k:], addr+uint64(k)
	}
}

func (e *Emulate) load(addr uint64, p []byte) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for len(p) > 0 {
		pg, off := addr/pageSize, addr%pageSize
		k := min(len(p), int(pageSize-off))
		if page := e.pages[pg]; page != nil {
			copy(p[:k], page[off:])
		} else {
			clear(p[:k])
		}
		p, addr = p[k:], addr+uint64(k)
	}
}
