package memory

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// recordSlave stores into an Emulate and records each transaction's
// address, size and id; fail(i) fails the i-th.
type recordSlave struct {
	Emulate
	mu   sync.Mutex
	seen [][3]uint64
	fail func(i int) bool
}

func (r *recordSlave) MaxAccess() uint32 { return 4096 }
func (r *recordSlave) DoTransaction(tx *Transaction) {
	r.mu.Lock()
	i := len(r.seen)
	r.seen = append(r.seen, [3]uint64{tx.Address, uint64(len(tx.Data)), uint64(tx.ID())})
	r.mu.Unlock()
	if r.fail != nil && r.fail(i) {
		tx.Complete(Errorf(tx.ID(), ErrRange, "injected failure"))
		return
	}
	r.Emulate.DoTransaction(tx)
}

func TestHubOffsetAndSplit(t *testing.T) {
	r := &recordSlave{Emulate: *NewEmulate(4, 4096)}
	h := NewHub(0x80000000, 0, 0)
	h.SetSlave(r)
	m := NewMaster(h)
	defer m.Close()
	data := make([]byte, 10000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	tx, _ := m.Acquire(Write, 0x20000, len(data))
	copy(tx.Data, data)
	m.Start(tx)
	if err := tx.Wait(); err != nil {
		t.Fatal(err)
	}
	pid := uint64(tx.ID())
	tx.Release()
	want := [][3]uint64{
		{0x80020000, 4096, pid + 1}, {0x80021000, 4096, pid + 2}, {0x80022000, 10000 - 8192, pid + 3},
	}
	if len(r.seen) != 3 {
		t.Fatalf("slave saw %v, want %v", r.seen, want)
	}
	for i := range want {
		if r.seen[i] != want[i] {
			t.Fatalf("sub-transaction %d: %#x, want %#x", i, r.seen[i], want[i])
		}
	}
	got := make([]byte, len(data))
	if err := m.Read(0x20000, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back through the hub: %v", err)
	}
	r.Emulate.Load(0x80020000, got)
	if !bytes.Equal(got, data) {
		t.Fatal("memory behind the hub is not at the offset address")
	}
	small := make([]byte, 4)
	if err := m.Read(0x20000, small); err != nil || !bytes.Equal(small, data[:4]) {
		t.Fatalf("unsplit read: %v", err)
	}
}

func TestHubSubFailure(t *testing.T) {
	r := &recordSlave{Emulate: *NewEmulate(4, 4096), fail: func(i int) bool { return i == 1 }}
	h := NewHub(0, 0, 0)
	h.SetSlave(r)
	m := NewMaster(h)
	defer m.Close()
	err := m.Write(0, make([]byte, 3*4096))
	if !errors.Is(err, ErrRange) || !strings.HasPrefix(err.Error(), "Transaction error. Subtransaction ") ||
		!strings.HasSuffix(err.Error(), "failed with error: injected failure") {
		t.Fatalf("parent error %q, want Rogue's sub-transaction text matching ErrRange", err)
	}
}

func TestHubSubTimeout(t *testing.T) {
	testutils.Leak(t)
	s := newAsyncSlave(t, func(i int) bool { return i == 2 })
	h := NewHub(0, 0, 0)
	h.SetSlave(s)
	m := NewMaster(h)
	defer m.Close()
	m.SetTimeout(30 * time.Millisecond)
	err := m.Read(0, make([]byte, 3*4096))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("split read with a lost part: %v, want ErrTimeout", err)
	}
	testutils.Eventually(t, time.Second, "slave table empty", func() bool { return s.heldCount() == 0 })
}

func TestHubAccessReports(t *testing.T) {
	e := NewEmulate(8, 2048)
	h := NewHub(0x100, 0, 0)
	h.SetSlave(e)
	if h.MinAccess() != 8 || h.MaxAccess() != 0xFFFFFFFF || h.Address() != 0x100 {
		t.Fatalf("hub reports %d/%#x/%#x", h.MinAccess(), h.MaxAccess(), h.Address())
	}
	root := NewHub(0x100, 4, 1024)
	root.SetSlave(e)
	if root.MinAccess() != 4 || root.MaxAccess() != 1024 || root.Address() != 0 {
		t.Fatalf("root hub reports %d/%d/%#x", root.MinAccess(), root.MaxAccess(), root.Address())
	}
	if NewHub(0, 0, 0).Address() != 0 {
		t.Fatal("unconnected hub address")
	}
}
