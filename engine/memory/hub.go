package memory

import "sync/atomic"

// Hub sits between masters and a slave (Rogue's memory::Hub): it adds its
// offset to every address, and splits a transaction larger than the
// slave's maximum access into contiguous sub-transactions, each with its
// own id, forwarded in order; the transaction completes when all of them
// have, with the first sub-transaction's error if any failed.
type Hub struct {
	offset     uint64
	minA, maxA uint32
	slave      atomic.Pointer[slaveRef]
}

// NewHub returns a hub adding offset. With minAccess and maxAccess both
// nonzero it is a root: it reports them and base address 0 to its
// masters; otherwise it passes the slave's minimum through, reports a
// maximum of 0xFFFFFFFF (it splits) and the slave's address plus offset.
func NewHub(offset uint64, minAccess, maxAccess uint32) *Hub {
	h := &Hub{offset: offset, minA: minAccess, maxA: maxAccess}
	h.slave.Store(&slaveRef{})
	return h
}

// SetSlave connects the hub to s: Rogue's hub >> slave.
func (h *Hub) SetSlave(s Slave) { h.slave.Store(&slaveRef{s}) }

// Offset is the hub's address offset.
func (h *Hub) Offset() uint64 { return h.offset }

func (h *Hub) root() bool { return h.minA != 0 && h.maxA != 0 }

func (h *Hub) MinAccess() uint32 {
	if h.root() {
		return h.minA
	}
	if s := h.slave.Load().s; s != nil {
		return s.MinAccess()
	}
	return 4
}

func (h *Hub) MaxAccess() uint32 {
	if h.root() {
		return h.maxA
	}
	return 0xFFFFFFFF
}

func (h *Hub) Address() uint64 {
	if h.root() {
		return 0
	}
	if s := h.slave.Load().s; s != nil {
		return s.Address() + h.offset
	}
	return h.offset
}

// DoTransaction offsets tx and forwards it whole, or split.
func (h *Hub) DoTransaction(tx *Transaction) {
	s := h.slave.Load().s
	if s == nil {
		tx.Complete(Errorf(tx.id, ErrUnconnected, "Unsupported transaction using unconnected memory bus"))
		return
	}
	tx.Address += h.offset
	maxA := s.MaxAccess()
	if maxA == 0 || uint64(len(tx.Data)) <= uint64(maxA) {
		s.DoTransaction(tx)
		return
	}
	h.split(tx, s, int(maxA))
}

// split forwards tx as ceil(size/maxA) sub-transactions over its buffer;
// each holds a reference to tx until it ends.
func (h *Hub) split(tx *Transaction, s Slave, maxA int) {
	size := len(tx.Data)
	n := (size + maxA - 1) / maxA
	tx.subLeft.Store(int32(n))
	tx.refs.Add(int32(n))
	pid := tx.id
	for off := 0; off < size; off += maxA {
		end := min(off+maxA, size)
		sub := acquireView(tx.Data[off:end])
		sub.Type, sub.Address = tx.Type, tx.Address+uint64(off)
		sub.parent, sub.parentID = tx, pid
		launch(sub, s, tx.timeout, nil)
	}
}
