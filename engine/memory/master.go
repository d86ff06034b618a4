package memory

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTimeout is a master's transaction timeout: Rogue's 1 s.
const DefaultTimeout = time.Second

// MaxSize bounds one transaction's size.
const MaxSize = 1 << 30

// Master starts transactions on its slave (Rogue's memory::Master). Any
// number of goroutines may use one Master; each transaction is used by
// one requester at a time.
type Master struct {
	slave   atomic.Pointer[slaveRef]
	timeout atomic.Int64

	mu      sync.Mutex
	head    *Transaction // pending transactions, for Close
	pending int
	idle    *sync.Cond // signalled when pending reaches 0 or on Close
	closed  bool

	errMu   sync.Mutex
	lastErr error
}

type slaveRef struct{ s Slave }

// NewMaster returns a master on slave s (nil: unconnected; see SetSlave).
func NewMaster(s Slave) *Master {
	m := &Master{}
	m.idle = sync.NewCond(&m.mu)
	m.timeout.Store(int64(DefaultTimeout))
	m.SetSlave(s)
	return m
}

// SetSlave connects the master to s: Rogue's master >> slave.
func (m *Master) SetSlave(s Slave) { m.slave.Store(&slaveRef{s}) }

// Slave is the connected slave, or nil.
func (m *Master) Slave() Slave { return m.slave.Load().s }

// SetTimeout sets the timeout of transactions started from now on; d <= 0
// keeps the old value (Rogue's setTimeout(0)).
func (m *Master) SetTimeout(d time.Duration) {
	if d > 0 {
		m.timeout.Store(int64(d))
	}
}

// Timeout is the current transaction timeout.
func (m *Master) Timeout() time.Duration { return time.Duration(m.timeout.Load()) }

// MinAccess, MaxAccess and Address ask the slave (Rogue's reqMinAccess,
// reqMaxAccess, reqAddress); unconnected, they are 4, 0 and 0.
func (m *Master) MinAccess() uint32 {
	if s := m.Slave(); s != nil {
		return s.MinAccess()
	}
	return 4
}

func (m *Master) MaxAccess() uint32 {
	if s := m.Slave(); s != nil {
		return s.MaxAccess()
	}
	return 0
}

func (m *Master) Address() uint64 {
	if s := m.Slave(); s != nil {
		return s.Address()
	}
	return 0
}

// Acquire returns an idle transaction from the pool with size bytes of
// Data (contents undefined). Release it when done.
func (m *Master) Acquire(typ Type, addr uint64, size int) (*Transaction, error) {
	if size < 0 || size > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, want 0..%d", ErrSize, size, MaxSize)
	}
	tx := acquire(size)
	tx.Type, tx.Address = typ, addr
	return tx, nil
}

// Start hands tx to the slave with the master's timeout, or its own
// (Transaction.SetTimeout). Errors of the
// transaction itself come from Wait; Start fails only for a transaction
// already in flight.
func (m *Master) Start(tx *Transaction) error {
	if s := tx.state.Load() & 3; s == stPending || s == stClaimed {
		return ErrBusy
	}
	tx.owner = m
	timeout := m.Timeout()
	if tx.own > 0 {
		timeout = tx.own
	}
	if m.isClosed() {
		launch(tx, closedSlave{}, timeout, nil)
		return nil
	}
	launch(tx, m.Slave(), timeout, m)
	return nil
}

// Wait waits for tx and returns its error (Rogue's waitTransaction).
func (m *Master) Wait(tx *Transaction) error { return tx.Wait() }

// WaitAll waits until no transaction of this master is pending
// (waitTransaction(0)). Every pending transaction has a deadline, so it
// returns within the longest timeout.
func (m *Master) WaitAll() {
	m.mu.Lock()
	for m.pending > 0 && !m.closed {
		m.idle.Wait()
	}
	m.mu.Unlock()
}

// Pending is the number of transactions in flight.
func (m *Master) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pending
}

// Error is the error of the last transaction that failed, sticky until
// ClearError (Rogue's getError); nil if none.
func (m *Master) Error() error {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	return m.lastErr
}

// ClearError forgets the sticky error.
func (m *Master) ClearError() {
	m.errMu.Lock()
	m.lastErr = nil
	m.errMu.Unlock()
}

// Close fails every pending transaction with ErrClosed and makes later
// ones fail the same way. It returns at once; it is safe to call twice.
func (m *Master) Close() error {
	type entry struct {
		tx *Transaction
		id uint32
	}
	m.mu.Lock()
	m.closed = true
	var list []entry
	for tx := m.head; tx != nil; tx = tx.next {
		list = append(list, entry{tx, uint32(tx.state.Load() >> 32)})
	}
	m.idle.Broadcast()
	m.mu.Unlock()
	for _, e := range list {
		e.tx.fail(e.id, Errorf(e.id, ErrClosed, "memory: master closed with transaction %d pending", e.id))
	}
	return nil
}

func (m *Master) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// track adds life id of tx to the pending list, unless it already ended;
// false means the master is closed.
func (m *Master) track(tx *Transaction, id uint32) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	if tx.state.Load() != uint64(id)<<32|stPending {
		return true
	}
	tx.prev, tx.next = nil, m.head
	if m.head != nil {
		m.head.prev = tx
	}
	m.head = tx
	m.pending++
	return true
}

// untrack takes a finishing transaction off the list and notes its error.
func (m *Master) untrack(tx *Transaction, err error) {
	m.mu.Lock()
	if tx.prev != nil || m.head == tx {
		if tx.prev != nil {
			tx.prev.next = tx.next
		} else {
			m.head = tx.next
		}
		if tx.next != nil {
			tx.next.prev = tx.prev
		}
		tx.prev, tx.next = nil, nil
		m.pending--
		if m.pending == 0 {
			m.idle.Broadcast()
		}
	}
	m.mu.Unlock()
	if err != nil {
		m.errMu.Lock()
		m.lastErr = err
		m.errMu.Unlock()
	}
}

// do runs one transaction of typ over p (copied in for writes, out for
// reads) and returns its error.
func (m *Master) do(typ Type, addr uint64, p []byte, out bool) error {
	tx, err := m.Acquire(typ, addr, len(p))
	if err != nil {
		return err
	}
	defer tx.Release()
	if !out {
		copy(tx.Data, p)
	}
	if err := m.Start(tx); err != nil {
		return err
	}
	if err := tx.Wait(); err != nil {
		return err
	}
	if out {
		copy(p, tx.Data)
	}
	return nil
}

// Read reads len(p) bytes at addr into p.
func (m *Master) Read(addr uint64, p []byte) error { return m.do(Read, addr, p, true) }

// Write writes p at addr and waits for the slave's acknowledgement.
func (m *Master) Write(addr uint64, p []byte) error { return m.do(Write, addr, p, false) }

// Post writes p at addr as a posted write: the slave does not acknowledge.
func (m *Master) Post(addr uint64, p []byte) error { return m.do(Post, addr, p, false) }

// Verify reads len(want) bytes at addr with a Verify transaction and
// fails with ErrVerify if they differ from want.
func (m *Master) Verify(addr uint64, want []byte) error {
	tx, err := m.Acquire(Verify, addr, len(want))
	if err != nil {
		return err
	}
	defer tx.Release()
	if err := m.Start(tx); err != nil {
		return err
	}
	if err := tx.Wait(); err != nil {
		return err
	}
	if !bytes.Equal(tx.Data, want) {
		return Errorf(tx.id, ErrVerify, "Verify error at address 0x%x: data read back differs", addr)
	}
	return nil
}

// closedSlave fails everything: the slave of a closed master.
type closedSlave struct{}

func (closedSlave) MinAccess() uint32 { return 4 }
func (closedSlave) MaxAccess() uint32 { return 0 }
func (closedSlave) Address() uint64   { return 0 }
func (closedSlave) DoTransaction(tx *Transaction) {
	tx.Complete(Errorf(tx.id, ErrClosed, "memory: master closed"))
}
