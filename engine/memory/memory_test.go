package memory

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// asyncSlave keeps transactions and completes them on its own goroutine,
// the way a protocol slave does when a response arrives; drop(i) makes it
// lose the i-th transaction.
type asyncSlave struct {
	mem  *Emulate
	q    chan held
	drop func(i int) bool
	n    atomic.Int64
	late atomic.Int64 // completions that found the transaction gone
	wg   sync.WaitGroup
	maxA uint32
	mu   sync.Mutex
	held map[uint32]bool
}

type held struct {
	tx *Transaction
	id uint32
}

func newAsyncSlave(t testing.TB, drop func(int) bool) *asyncSlave {
	s := &asyncSlave{mem: NewEmulate(4, 4096), q: make(chan held, 1024), drop: drop, maxA: 4096, held: map[uint32]bool{}}
	s.wg.Add(1)
	go s.run()
	t.Cleanup(func() { close(s.q); s.wg.Wait() })
	return s
}

func (s *asyncSlave) MinAccess() uint32 { return 4 }
func (s *asyncSlave) MaxAccess() uint32 { return s.maxA }
func (s *asyncSlave) Address() uint64   { return 0 }
func (s *asyncSlave) Forget(id uint32) {
	s.mu.Lock()
	delete(s.held, id)
	s.mu.Unlock()
}

func (s *asyncSlave) DoTransaction(tx *Transaction) {
	if err := CheckAccess(tx, 4, s.maxA); err != nil {
		tx.Complete(err)
		return
	}
	i := int(s.n.Add(1))
	s.mu.Lock()
	s.held[tx.ID()] = true
	s.mu.Unlock()
	tx.Track(s)
	if s.drop != nil && s.drop(i) {
		return
	}
	s.q <- held{tx, tx.ID()}
}

func (s *asyncSlave) run() {
	defer s.wg.Done()
	for h := range s.q {
		if !h.tx.Claim(h.id) {
			s.late.Add(1)
			continue
		}
		s.Forget(h.id)
		if h.tx.Type.Writes() {
			s.mem.store(h.tx.Address, h.tx.Data)
		} else {
			s.mem.load(h.tx.Address, h.tx.Data)
		}
		h.tx.Finish(nil)
	}
}

func (s *asyncSlave) heldCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

func TestEmulateWriteRead(t *testing.T) {
	m := NewMaster(NewEmulate(4, 4096))
	defer m.Close()
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	if err := m.Write(0x1ffc, want); err != nil { // crosses a page
		t.Fatal(err)
	}
	got := make([]byte, 8)
	if err := m.Read(0x1ffc, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %x, %v; want %x", got, err, want)
	}
	if err := m.Verify(0x1ffc, want); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(0x1ffc, make([]byte, 8)); !errors.Is(err, ErrVerify) {
		t.Fatalf("verify of wrong data: %v, want ErrVerify", err)
	}
	if err := m.Read(0x100000, got); err != nil || !bytes.Equal(got, make([]byte, 8)) {
		t.Fatalf("unwritten memory reads %x, %v; want zeros", got, err)
	}
}

func TestEmulateSize(t *testing.T) {
	e := NewEmulate(4, 4096)
	e.SetSize(0x1000)
	m := NewMaster(e)
	defer m.Close()
	if err := m.Write(0xffc, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	err := m.Write(0xffc, make([]byte, 8))
	var te *TxError
	if !errors.Is(err, ErrRange) || !errors.As(err, &te) || te.ID == 0 {
		t.Fatalf("write past the end: %v, want a TxError of ErrRange", err)
	}
	if !errors.Is(m.Error(), ErrRange) {
		t.Fatalf("sticky error %v, want ErrRange", m.Error())
	}
	m.ClearError()
	if m.Error() != nil {
		t.Fatal("ClearError left an error")
	}
}

func TestUnconnected(t *testing.T) {
	m := NewMaster(nil)
	defer m.Close()
	err := m.Read(0, make([]byte, 4))
	if !errors.Is(err, ErrUnconnected) || err.Error() != "Unsupported transaction using unconnected memory bus" {
		t.Fatalf("unconnected read: %v", err)
	}
	if m.MinAccess() != 4 || m.MaxAccess() != 0 {
		t.Fatalf("unconnected min/max %d/%d, want 4/0 (Rogue's Slave(4,0))", m.MinAccess(), m.MaxAccess())
	}
}

func TestCheckAccessTexts(t *testing.T) {
	cases := []struct {
		addr uint64
		size int
		err  error
		text string
	}{
		{2, 4, ErrUnaligned, "Transaction address 0x2 is not aligned to min size 4"},
		{0, 6, ErrSize, "Transaction size 0x6 is not aligned to min size 4"},
		{0, 0, ErrSize, "Transaction size 0x0 is not aligned to min size 4"},
		{0, 8192, ErrSize, "Transaction size 8192 exceeds max size 4096"},
		{0x10, 4096, nil, ""},
	}
	for _, c := range cases {
		tx := acquire(c.size)
		tx.Address = c.addr
		err := CheckAccess(tx, 4, 4096)
		tx.unref()
		if !errors.Is(err, c.err) || (err != nil && err.Error() != c.text) {
			t.Errorf("addr %#x size %d: %v, want %q", c.addr, c.size, err, c.text)
		}
	}
}

func TestIDsProcessWide(t *testing.T) {
	m := NewMaster(NewEmulate(4, 4096))
	defer m.Close()
	tx, _ := m.Acquire(Read, 0, 4)
	m.Start(tx)
	tx.Wait()
	a := tx.ID()
	tx.Release()
	tx, _ = m.Acquire(Read, 0, 4)
	m.Start(tx)
	tx.Wait()
	if b := tx.ID(); b != a+1 {
		t.Fatalf("ids %d then %d, want consecutive", a, b)
	}
	tx.Release()
	lastID.Store(^uint32(0))
	if id := nextID(); id != 1 {
		t.Fatalf("id after wrap-around %d, want 1 (0 skipped)", id)
	}
}

// TestManyInFlight runs transactions from several goroutines through a
// slave that answers later, some lost: every transaction completes once,
// the lost ones with ErrTimeout, and the data of the others is right.
func TestManyInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("short: waits on transaction timeouts; the full run covers it")
	}
	testutils.Leak(t)
	s := newAsyncSlave(t, func(i int) bool { return i%50 == 7 })
	m := NewMaster(s)
	defer m.Close()
	m.SetTimeout(50 * time.Millisecond)
	var timeouts, ok atomic.Int64
	var wg sync.WaitGroup
	const workers, each = 16, 300
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			base := uint64(w) << 20
			buf := make([]byte, 256)
			for range each {
				n := 4 * (1 + rng.IntN(64))
				for i := range buf[:n] {
					buf[i] = byte(rng.Uint32())
				}
				err := m.Write(base, buf[:n])
				if errors.Is(err, ErrTimeout) {
					timeouts.Add(1)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				err = m.Verify(base, buf[:n])
				switch {
				case errors.Is(err, ErrTimeout):
					timeouts.Add(1)
				case err != nil:
					t.Error(err)
					return
				default:
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if timeouts.Load() == 0 || ok.Load() == 0 {
		t.Fatalf("ok %d, timeouts %d: want both", ok.Load(), timeouts.Load())
	}
	if m.Pending() != 0 || s.heldCount() != 0 {
		t.Fatalf("pending %d, slave holds %d after all completed", m.Pending(), s.heldCount())
	}
}

// TestTimeoutThenLateAnswer: a transaction times out, its answer comes
// later and finds it gone, and a reuse of the buffer is not touched.
func TestTimeoutThenLateAnswer(t *testing.T) {
	testutils.Leak(t)
	var hold []held
	var mu sync.Mutex
	s := slaveFunc(func(tx *Transaction) {
		mu.Lock()
		hold = append(hold, held{tx, tx.ID()})
		mu.Unlock()
	})
	m := NewMaster(s)
	defer m.Close()
	m.SetTimeout(20 * time.Millisecond)
	start := time.Now()
	err := m.Read(0, make([]byte, 4))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("read: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 20*time.Millisecond || d > time.Second {
		t.Fatalf("timed out after %v, want about 20ms", d)
	}
	if want := "Timeout waiting for register transaction"; !bytes.HasPrefix([]byte(err.Error()), []byte(want)) {
		t.Fatalf("text %q", err)
	}
	mu.Lock()
	h := hold[0]
	mu.Unlock()
	if h.tx.Claim(h.id) {
		t.Fatal("a late answer claimed a timed-out transaction")
	}
}

type slaveFunc func(tx *Transaction)

func (slaveFunc) MinAccess() uint32               { return 4 }
func (slaveFunc) MaxAccess() uint32               { return 4096 }
func (slaveFunc) Address() uint64                 { return 0 }
func (f slaveFunc) DoTransaction(tx *Transaction) { f(tx) }

// TestCloseFailsPending: Close fails every pending transaction with
// ErrClosed at once, and later ones too.
func TestCloseFailsPending(t *testing.T) {
	testutils.Leak(t)
	s := slaveFunc(func(*Transaction) {}) // never answers
	m := NewMaster(s)
	m.SetTimeout(time.Minute)
	var txs []*Transaction
	for i := range 100 {
		tx, _ := m.Acquire(Read, uint64(i*4), 4)
		m.Start(tx)
		txs = append(txs, tx)
	}
	if m.Pending() != 100 {
		t.Fatalf("pending %d, want 100", m.Pending())
	}
	start := time.Now()
	done := make(chan struct{})
	go func() { m.WaitAll(); close(done) }()
	m.Close()
	for _, tx := range txs {
		if err := tx.Wait(); !errors.Is(err, ErrClosed) {
			t.Fatalf("pending transaction after Close: %v", err)
		}
		tx.Release()
	}
	<-done
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Close took %v", d)
	}
	if err := m.Read(0, make([]byte, 4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
	m.Close()
}

func TestReleasePending(t *testing.T) {
	var got *Transaction
	var id uint32
	m := NewMaster(slaveFunc(func(tx *Transaction) { got, id = tx, tx.ID() }))
	defer m.Close()
	tx, _ := m.Acquire(Read, 0, 4)
	m.Start(tx)
	tx.Release()
	if got.Claim(id) {
		t.Fatal("claimed a released transaction")
	}
	if m.Pending() != 0 {
		t.Fatalf("pending %d after release", m.Pending())
	}
}

func TestStartTwice(t *testing.T) {
	m := NewMaster(slaveFunc(func(*Transaction) {}))
	defer m.Close()
	tx, _ := m.Acquire(Read, 0, 4)
	m.Start(tx)
	if err := m.Start(tx); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Start: %v", err)
	}
	tx.Release()
	tx, _ = m.Acquire(Read, 0, 4)
	if err := tx.Wait(); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Wait before Start: %v", err)
	}
	tx.Release()
}

func TestWaitAll(t *testing.T) {
	testutils.Leak(t)
	s := newAsyncSlave(t, nil)
	m := NewMaster(s)
	defer m.Close()
	var txs []*Transaction
	for i := range 32 {
		tx, _ := m.Acquire(Write, uint64(i*8), 8)
		m.Start(tx)
		txs = append(txs, tx)
	}
	m.WaitAll()
	for _, tx := range txs {
		if !tx.Expired() {
			t.Fatal("WaitAll returned with a transaction pending")
		}
		if err := tx.Wait(); err != nil {
			t.Fatal(err)
		}
		tx.Release()
	}
}

// TestOwnTimeouts: transactions in flight together each end at their own
// deadline.
func TestOwnTimeouts(t *testing.T) {
	testutils.Leak(t)
	m := NewMaster(slaveFunc(func(*Transaction) {})) // never answers
	defer m.Close()
	m.SetTimeout(time.Minute)
	short, _ := m.Acquire(Read, 0, 4)
	short.SetTimeout(20 * time.Millisecond)
	long, _ := m.Acquire(Read, 4, 4)
	long.SetTimeout(150 * time.Millisecond)
	start := time.Now()
	m.Start(long)
	m.Start(short)
	if err := short.Wait(); !errors.Is(err, ErrTimeout) {
		t.Fatal(err)
	}
	d1 := time.Since(start)
	if err := long.Wait(); !errors.Is(err, ErrTimeout) {
		t.Fatal(err)
	}
	d2 := time.Since(start)
	if d1 >= 150*time.Millisecond || d2 < 150*time.Millisecond || short.Timeout() != 20*time.Millisecond {
		t.Fatalf("short ended after %v, long after %v", d1, d2)
	}
	short.Release()
	long.Release()
}
