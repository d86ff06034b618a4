package memory

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Type is a transaction's type, with Rogue's numbers (Constants.h).
type Type uint32

const (
	Read   Type = 1
	Write  Type = 2
	Post   Type = 3 // posted write: no response awaited
	Verify Type = 4 // a read whose data the requester compares
	// Probe is the TCP bridge's readiness probe (TcpBridgeProbe).
	Probe Type = 0xFFFFFFFE
)

func (t Type) String() string {
	switch t {
	case Read:
		return "Read"
	case Write:
		return "Write"
	case Post:
		return "Post"
	case Verify:
		return "Verify"
	case Probe:
		return "Probe"
	}
	return "Type(" + itoa(uint64(t)) + ")"
}

// Writes reports whether t carries data to the slave (Write, Post).
func (t Type) Writes() bool { return t == Write || t == Post }

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// States of a transaction, in the low bits of Transaction.state; the high
// 32 bits hold the id of the life the state belongs to.
const (
	stIdle    = 0
	stPending = 1 // with its slave
	stClaimed = 2 // a completer owns it and is finishing it
	stDone    = 3
)

// lastID is the process-wide id counter: ids start at 1 and skip 0.
var lastID atomic.Uint32

func nextID() uint32 {
	for {
		if id := lastID.Add(1); id != 0 {
			return id
		}
	}
}

// Tracker is told when a transaction it keeps ends without it: by its
// timeout, a Close or a Release. A slave with a table of outstanding
// transactions deletes the entry in Forget.
type Tracker interface {
	Forget(id uint32)
}

// Transaction is one memory access. Address, Type and Data are set by the
// requester before Start and belong to the slave until completion; Data's
// length is the transaction's size.
type Transaction struct {
	Address uint64
	Type    Type
	Data    []byte

	id      uint32
	state   atomic.Uint64 // id<<32 | state
	err     error
	timeout time.Duration
	own     time.Duration // SetTimeout's value for the next Start; 0: the master's
	dl      atomic.Int64  // deadline, unix nanoseconds
	timer   *time.Timer
	done    chan struct{} // one token per completed life
	waited  bool
	tracker Tracker
	refs    atomic.Int32 // requester, launch, claimer, sub-transactions

	buf   []byte // owned pooled buffer, or nil
	class int8   // pool class of buf; -1: not pooled

	owner      *Master // tracks it for Close and the sticky error
	prev, next *Transaction

	parent   *Transaction // a Hub's sub-transaction: completes the parent
	parentID uint32
	subLeft  atomic.Int32
	subErr   atomic.Pointer[TxError]
}

// ID is the id of the transaction's current life (0 before Start).
func (tx *Transaction) ID() uint32 { return tx.id }

// Size is the number of bytes accessed.
func (tx *Transaction) Size() int { return len(tx.Data) }

// Timeout is the time the transaction is given once its slave took it.
func (tx *Transaction) Timeout() time.Duration { return tx.timeout }

// SetTimeout gives the transaction its own timeout for its next Start
// instead of the master's; d <= 0 returns to the master's.
func (tx *Transaction) SetTimeout(d time.Duration) { tx.own = max(d, 0) }

// Err is the transaction's error once Wait has returned (nil: success).
func (tx *Transaction) Err() error { return tx.err }

// Expired reports whether the transaction has completed (Rogue's
// expired()): its data and error are final.
func (tx *Transaction) Expired() bool { return tx.state.Load()&3 == stDone }

// Track registers t to be told when the transaction ends without the
// slave. Call it in DoTransaction, before it returns.
func (tx *Transaction) Track(t Tracker) { tx.tracker = t }

// Claim takes the transaction of life id for completion: true means the
// caller now owns Data and must call Finish; false means it has already
// ended (timeout, Close, Release) or moved on to another life.
func (tx *Transaction) Claim(id uint32) bool {
	if !tx.state.CompareAndSwap(uint64(id)<<32|stPending, uint64(id)<<32|stClaimed) {
		return false
	}
	tx.refs.Add(1)
	return true
}

// Finish completes a claimed transaction with err (nil: success).
func (tx *Transaction) Finish(err error) {
	tx.finish(err)
	tx.unref()
}

// Complete claims and finishes the transaction in one step, for a slave
// that completes it inside DoTransaction. It reports whether it won.
func (tx *Transaction) Complete(err error) bool {
	if !tx.Claim(tx.id) {
		return false
	}
	tx.Finish(err)
	return true
}

// fail ends life id with err if it is still with its slave, and tells the
// slave's tracker.
func (tx *Transaction) fail(id uint32, err error) bool {
	if !tx.Claim(id) {
		return false
	}
	if tr := tx.tracker; tr != nil {
		tr.Forget(id) // before the requester wakes
	}
	tx.Finish(err)
	return true
}

// finish records the result and wakes the requester (or the parent).
func (tx *Transaction) finish(err error) {
	tx.err = err
	tx.timer.Stop()
	tx.tracker = nil
	p, pid := tx.parent, tx.parentID
	tx.state.Store(uint64(tx.id)<<32 | stDone)
	if m := tx.owner; m != nil {
		m.untrack(tx, err) // after the state: WaitAll then sees it done
	}
	if p != nil {
		p.subDone(pid, tx.id, err)
		tx.parent = nil
		tx.unref() // sub-transactions have no requester
		return
	}
	select {
	case tx.done <- struct{}{}:
	default:
	}
}

// expire is the timer's function: it fails the current life once its
// deadline has passed, and re-arms a timer that fired early (a stale
// arming from an earlier life).
func (tx *Transaction) expire() {
	s := tx.state.Load()
	if s&3 != stPending {
		return
	}
	left := tx.dl.Load() - time.Now().UnixNano()
	if left > 0 {
		tx.timer.Reset(time.Duration(left))
		return
	}
	id := uint32(s >> 32)
	tx.fail(id, Errorf(id, ErrTimeout, "Timeout waiting for register transaction %d message response.", id))
}

// Wait blocks until the transaction completes and returns its error. It
// returns at once if it already did and was waited for.
func (tx *Transaction) Wait() error {
	if tx.state.Load()&3 == stIdle {
		return ErrNotStarted
	}
	if !tx.waited {
		<-tx.done
		tx.waited = true
	}
	return tx.err
}

// Release gives the transaction back to its pool. A transaction still in
// flight is failed with ErrReleased first; its buffer is reused only once
// no completer holds it.
func (tx *Transaction) Release() {
	s := tx.state.Load()
	if s&3 == stPending {
		id := uint32(s >> 32)
		tx.fail(id, Errorf(id, ErrReleased, "transaction %d released while pending", id))
	}
	tx.unref()
}

func (tx *Transaction) unref() {
	if tx.refs.Add(-1) == 0 {
		tx.recycle()
	}
}

// recycle resets the transaction and puts it back in its pool.
func (tx *Transaction) recycle() {
	select {
	case <-tx.done:
	default:
	}
	tx.state.Store(stIdle)
	tx.err, tx.waited, tx.tracker, tx.owner, tx.own = nil, false, nil, nil, 0
	tx.parent, tx.Address, tx.Type = nil, 0, 0
	if tx.class < 0 {
		tx.Data, tx.buf = nil, nil
		return
	}
	tx.Data = tx.buf[:0]
	pools[tx.class].Put(tx)
}

// subDone counts one finished sub-transaction of life id.
func (tx *Transaction) subDone(id, subID uint32, err error) {
	if err != nil {
		e := Errorf(id, err, "Transaction error. Subtransaction %d failed with error: %v", subID, err)
		tx.subErr.CompareAndSwap(nil, e)
	}
	if tx.subLeft.Add(-1) == 0 {
		var res error
		if e := tx.subErr.Swap(nil); e != nil {
			res = e
		}
		if tx.Claim(id) {
			tx.Finish(res)
		}
	}
	tx.unref()
}

// Pooled transactions: class c holds buffers of 64<<c bytes; class 0 also
// serves transactions without a buffer of their own. Larger transactions
// are not pooled.
const (
	minClassBytes = 64
	numClasses    = 19 // up to 16 MiB
)

var pools [numClasses]sync.Pool

func classOf(size int) int {
	if size <= minClassBytes {
		return 0
	}
	return bits.Len(uint(size-1)) - 6
}

// acquire returns an idle transaction whose Data has size bytes, with one
// reference (the requester's).
func acquire(size int) *Transaction {
	c := classOf(size)
	var tx *Transaction
	if c < numClasses {
		if v := pools[c].Get(); v != nil {
			tx = v.(*Transaction)
		}
	}
	if tx == nil {
		tx = newTransaction(c, size)
	}
	tx.Data = tx.buf[:size]
	tx.refs.Store(1)
	return tx
}

func newTransaction(c, size int) *Transaction {
	tx := &Transaction{done: make(chan struct{}, 1), class: int8(c)}
	if c < numClasses {
		tx.buf = make([]byte, minClassBytes<<c)
	} else {
		tx.class = -1
		tx.buf = make([]byte, size)
	}
	tx.timer = time.AfterFunc(time.Hour, tx.expire)
	tx.timer.Stop()
	return tx
}

// acquireView returns a transaction whose Data is data (not copied, not
// pooled): a Hub's sub-transaction over part of its parent's buffer.
func acquireView(data []byte) *Transaction {
	tx := acquire(0)
	tx.Data = data
	return tx
}

// launch gives tx a new life and hands it to s; the timeout is armed when
// DoTransaction returns, unless the transaction completed by then.
func launch(tx *Transaction, s Slave, timeout time.Duration, m *Master) {
	tx.refs.Add(1) // not recycled while launching
	defer tx.unref()
	id := nextID()
	tx.id, tx.err, tx.waited, tx.timeout = id, nil, false, timeout
	tx.dl.Store(time.Now().Add(timeout).UnixNano())
	tx.state.Store(uint64(id)<<32 | stPending)
	if s == nil {
		tx.Complete(Errorf(id, ErrUnconnected, "Unsupported transaction using unconnected memory bus"))
		return
	}
	s.DoTransaction(tx)
	if m != nil && !m.track(tx, id) {
		tx.fail(id, Errorf(id, ErrClosed, "memory: master closed"))
		return
	}
	if tx.state.Load() == uint64(id)<<32|stPending {
		tx.timer.Reset(timeout)
	}
}
