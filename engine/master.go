package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Slave accepts frames from a Master (Rogue's stream::Slave).
//
// AcceptFrame borrows the frame for the duration of the call; a slave that
// keeps it longer must call Frame.Retain before returning and Frame.Release
// when done.
type Slave interface {
	AcceptFrame(f Frame)
}

// SlaveFunc lets a plain function be a Slave: AcceptFrame calls it. The
// frame is lent for the call only, as to any slave.
type SlaveFunc func(f Frame)

// AcceptFrame calls fn with f.
func (fn SlaveFunc) AcceptFrame(f Frame) { fn(f) }

// Allocator is implemented by slaves that also serve frame requests, so a
// master allocates frames from the pool of the slave that will consume them
// (Rogue's Slave::acceptReq). *Pool implements it.
type Allocator interface {
	AcceptReq(size int, zeroCopy bool) (Frame, error)
}

// Source is anything slaves can be attached to: a Master, or a type that
// embeds one.
type Source interface {
	AddSlave(s Slave)
}

// Master sends frames to its slaves (Rogue's stream::Master). The first
// slave attached is the primary: it serves ReqFrame when it is an Allocator
// and receives each frame last.
//
// The zero Master is ready to use. Embed it in a type that produces frames.
type Master struct {
	mu     sync.Mutex              // serialises AddSlave and SetPool
	slaves atomic.Pointer[[]Slave] // copy-on-write: SendFrame never locks
	pool   atomic.Pointer[Pool]    // fallback allocator
	closed atomic.Bool
}

// AddSlave attaches s. Slaves attached later are secondaries.
func (m *Master) AddSlave(s Slave) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := append(append([]Slave(nil), m.slaveList()...), s)
	m.slaves.Store(&next)
}

// SlaveCount is the number of attached slaves.
func (m *Master) SlaveCount() int { return len(m.slaveList()) }

// SetPool sets the pool ReqFrame uses when the primary slave is not an
// Allocator. Without one, a default pool (exact-size buffers) is created.
func (m *Master) SetPool(p *Pool) {
	m.pool.Store(p)
}

// ReqFrame allocates a frame of at least size bytes from the primary
// slave's allocator, or from the master's pool when the primary slave has
// none (or no slave is attached). The caller owns one reference.
func (m *Master) ReqFrame(size int, zeroCopy bool) (Frame, error) {
	if m.closed.Load() {
		return Frame{}, ErrClosed
	}
	if slaves := m.slaveList(); len(slaves) > 0 {
		if a, ok := slaves[0].(Allocator); ok {
			return a.AcceptReq(size, zeroCopy)
		}
	}
	return m.fallbackPool().AcceptReq(size, zeroCopy)
}

func (m *Master) fallbackPool() *Pool {
	if p := m.pool.Load(); p != nil {
		return p
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.pool.Load(); p != nil {
		return p
	}
	p := NewPool()
	m.pool.Store(p)
	return p
}

// SendFrame hands f to every slave synchronously in the caller's goroutine:
// the secondary slaves in order of attachment, then the primary. The caller
// keeps its reference and releases it afterwards.
func (m *Master) SendFrame(f Frame) error {
	if m.closed.Load() {
		return ErrClosed
	}
	if !f.Valid() {
		return ErrReleased
	}
	fanOut(m.slaveList(), f)
	return nil
}

// sendHeld is SendFrame for a run of frames a receive loop has just cut and
// holds until it settles their group (see carvedGroup): they are live, so
// the per-frame check is skipped, and the slaves are looked up once for the
// run. Each frame goes to every slave before the next.
func (m *Master) sendHeld(fs []Frame) error {
	if m.closed.Load() {
		return ErrClosed
	}
	slaves := m.slaveList()
	if len(slaves) == 1 { // the usual case, without a call per frame
		s := slaves[0]
		for _, f := range fs {
			s.AcceptFrame(f)
		}
		return nil
	}
	for _, f := range fs {
		fanOut(slaves, f)
	}
	return nil
}

// slaveList is the attached slaves, primary first; nil when there are none.
func (m *Master) slaveList() []Slave {
	if cur := m.slaves.Load(); cur != nil {
		return *cur
	}
	return nil
}

// fanOut hands f to slaves in SendFrame's order: the secondaries in order
// of attachment, then the primary.
func fanOut(slaves []Slave, f Frame) {
	if len(slaves) == 0 {
		return
	}
	for _, s := range slaves[1:] {
		s.AcceptFrame(f)
	}
	slaves[0].AcceptFrame(f)
}

// Close stops the master: later ReqFrame and SendFrame calls fail with
// ErrClosed. It is safe to call more than once.
func (m *Master) Close() error {
	m.closed.Store(true)
	return nil
}

// Connect attaches slave to master: Rogue's `master >> slave`.
func Connect(master Source, slave Slave) {
	master.AddSlave(slave)
}

// Chain connects master >> slaves[0] >> slaves[1] >> ..., the form Rogue
// writes as `a >> b >> c`. Every slave but the last must also be a Source
// (a Fifo, a Filter); otherwise nothing is connected and an error says which.
func Chain(master Source, slaves ...Slave) error {
	for i, s := range slaves[:max(len(slaves)-1, 0)] {
		if _, ok := s.(Source); !ok {
			return fmt.Errorf("engine: chain link %d (%T) accepts frames but emits none", i, s)
		}
	}
	src := master
	for _, s := range slaves {
		src.AddSlave(s)
		if next, ok := s.(Source); ok {
			src = next
		}
	}
	return nil
}
