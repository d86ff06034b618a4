package memory

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// holdSlave keeps every transaction in an Outstanding table, as a link's
// requester does until a response arrives.
type holdSlave struct{ out Outstanding }

func (s *holdSlave) MinAccess() uint32 { return 4 }
func (s *holdSlave) MaxAccess() uint32 { return 4096 }
func (s *holdSlave) Address() uint64   { return 0 }
func (s *holdSlave) DoTransaction(tx *Transaction) {
	if !s.out.Hold(tx, tx.ID()) {
		tx.Complete(Errorf(tx.ID(), ErrClosed, "holdSlave closed"))
	}
}

func startHeld(t *testing.T, m *Master) *Transaction {
	t.Helper()
	tx, err := m.Acquire(Read, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestOutstandingTakeForgetClose(t *testing.T) {
	s := &holdSlave{}
	m := NewMaster(s)
	m.SetTimeout(10 * time.Second)

	tx := startHeld(t, m)
	if s.out.Len() != 1 || s.out.Closed() {
		t.Fatalf("held %d, closed %v; want 1, false", s.out.Len(), s.out.Closed())
	}
	id := tx.ID()
	if got := s.out.Take(id); got != tx || s.out.Take(id) != nil || s.out.Len() != 0 {
		t.Fatalf("take: got %p want %p, then %d held", got, tx, s.out.Len())
	}
	if tx.Claim(id) {
		tx.Finish(nil)
	}
	if err := m.Wait(tx); err != nil {
		t.Fatalf("taken and finished: %v", err)
	}
	tx.Release()

	m.SetTimeout(20 * time.Millisecond)
	tx = startHeld(t, m)
	if err := m.Wait(tx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("unanswered: %v, want ErrTimeout", err)
	}
	if s.out.Len() != 0 {
		t.Fatalf("timed out transaction still held (%d)", s.out.Len())
	}
	tx.Release()
	m.SetTimeout(10 * time.Second)

	tx = startHeld(t, m)
	s.out.Close("test: requester")
	err := m.Wait(tx)
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "test: requester closed with transaction") {
		t.Fatalf("closed while held: %v", err)
	}
	tx.Release()
	if !s.out.Closed() || s.out.Len() != 0 {
		t.Fatalf("after Close: closed %v, held %d", s.out.Closed(), s.out.Len())
	}

	tx = startHeld(t, m)
	if err := m.Wait(tx); !errors.Is(err, ErrClosed) || s.out.Len() != 0 {
		t.Fatalf("held after Close: %v, %d held", err, s.out.Len())
	}
	tx.Release()
}
