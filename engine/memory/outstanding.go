package memory

import "sync"

// Outstanding is a requester's table of transactions awaiting a response,
// by id. A slave that sends requests over a link (an SRP host, a TCP
// bridge client) holds each transaction here until its response takes it
// back; a timeout or Release forgets it (Outstanding is the Tracker), and
// Close fails what is left. The zero value is an empty, open table; it is
// safe for concurrent use.
type Outstanding struct {
	mu     sync.Mutex
	table  map[uint32]*Transaction
	closed bool
}

// Hold tracks tx and enters it under id; it reports false, entering
// nothing, once the table is closed.
func (o *Outstanding) Hold(tx *Transaction, id uint32) bool {
	tx.Track(o)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	if o.table == nil {
		o.table = make(map[uint32]*Transaction, 64)
	}
	o.table[id] = tx
	return true
}

// Forget drops id from the table (Tracker).
func (o *Outstanding) Forget(id uint32) {
	o.mu.Lock()
	delete(o.table, id)
	o.mu.Unlock()
}

// Take removes and returns the transaction of id, or nil if none is held.
func (o *Outstanding) Take(id uint32) *Transaction {
	o.mu.Lock()
	defer o.mu.Unlock()
	tx := o.table[id]
	if tx != nil {
		delete(o.table, id)
	}
	return tx
}

// Len is the number of transactions held.
func (o *Outstanding) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.table)
}

// Closed reports whether Close has been called.
func (o *Outstanding) Closed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// Close refuses later Holds and fails every held transaction that it can
// still claim with ErrClosed, its message naming owner ("srp: host").
func (o *Outstanding) Close(owner string) {
	o.mu.Lock()
	o.closed = true
	table := o.table
	o.table = nil
	o.mu.Unlock()
	for id, tx := range table {
		if tx.Claim(id) {
			tx.Finish(Errorf(id, ErrClosed, "%s closed with transaction %d outstanding", owner, id))
		}
	}
}
