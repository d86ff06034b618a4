package srp

import (
	"errors"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
	"udpstream.dev/internal/testutils"
)

// TestHostDeviceDirect connects a host straight to a device (frames pass
// synchronously) and runs random transactions through it.
func TestHostDeviceDirect(t *testing.T) {
	testutils.Leak(t)
	host, dev := NewHost(), NewDevice(memory.NewEmulate(4, 4096))
	engine.Connect(host, dev)
	engine.Connect(dev, host)
	m := memory.NewMaster(host)
	defer func() { m.Close(); host.Close(); dev.Close() }()
	w := &workload{total: scaled(t, 20000, 10), inflight: 16, minSize: 4, maxSize: 4096, seed: 1}
	w.run(t, m)
	w.check(t)
	checkServed(t, w, host, dev, 5*time.Second)
}

// TestHostLargeThroughHub: a 64 KiB write and read through a Hub over the
// host are split into 16 frames each.
func TestHostLargeThroughHub(t *testing.T) {
	host, dev := NewHost(), NewDevice(memory.NewEmulate(4, 4096))
	engine.Connect(host, dev)
	engine.Connect(dev, host)
	hub := memory.NewHub(0x10000000, 0, 0)
	hub.SetSlave(host)
	m := memory.NewMaster(hub)
	defer func() { m.Close(); host.Close(); dev.Close() }()
	data := testutils.Pattern(7, 65536)
	if err := m.Write(0, data); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(0, data); err != nil {
		t.Fatal(err)
	}
	if s := host.Stats(); s.Requests != 32 {
		t.Fatalf("%d requests, want 32", s.Requests)
	}
}

// TestHostRejects: unaligned and oversize requests fail before a frame.
func TestHostRejects(t *testing.T) {
	host := NewHost()
	out := &capture{}
	engine.Connect(host, out)
	m := memory.NewMaster(host)
	defer func() { m.Close(); host.Close() }()
	if err := m.Read(2, make([]byte, 4)); !errors.Is(err, memory.ErrUnaligned) {
		t.Fatalf("unaligned: %v", err)
	}
	if err := m.Read(0, make([]byte, 4100)); !errors.Is(err, memory.ErrSize) {
		t.Fatalf("oversize: %v", err)
	}
	if err := m.Write(0, make([]byte, 6)); !errors.Is(err, memory.ErrSize) {
		t.Fatalf("size 6: %v", err)
	}
	if len(out.take()) != 0 || host.Stats().Rejected != 3 {
		t.Fatalf("frames sent for rejected transactions, stats %+v", host.Stats())
	}
}

// TestSilentDevice: requests nobody answers time out, each with its own
// error, and leave nothing behind.
func TestSilentDevice(t *testing.T) {
	testutils.Leak(t)
	host := NewHost()
	engine.Connect(host, &capture{})
	m := memory.NewMaster(host)
	defer func() { m.Close(); host.Close() }()
	m.SetTimeout(30 * time.Millisecond)
	var txs []*memory.Transaction
	for i := range 64 {
		tx, _ := m.Acquire(memory.Read, uint64(i*4), 4)
		m.Start(tx)
		txs = append(txs, tx)
	}
	for _, tx := range txs {
		var te *memory.TxError
		if err := tx.Wait(); !errors.Is(err, memory.ErrTimeout) || !errors.As(err, &te) || te.ID != tx.ID() {
			t.Fatalf("silent device: %v", err)
		}
		tx.Release()
	}
	if n := host.Outstanding(); n != 0 {
		t.Fatalf("%d entries left in the host's table", n)
	}
}

// TestCloseStates: Host, Master and Device Close return within 100 ms
// idle, with transactions outstanding, and while traffic flows, and fail
// what is outstanding with ErrClosed.
func TestCloseStates(t *testing.T) {
	testutils.Leak(t)
	timed := func(what string, f func() error) {
		t.Helper()
		start := time.Now()
		f()
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("%s took %v", what, d)
		}
	}
	// idle
	host := NewHost()
	timed("idle host Close", host.Close)
	timed("idle device Close", NewDevice(memory.NewEmulate(4, 4096)).Close)
	// outstanding
	host = NewHost()
	engine.Connect(host, &capture{})
	m := memory.NewMaster(host)
	m.SetTimeout(time.Minute)
	tx, _ := m.Acquire(memory.Read, 0, 4)
	m.Start(tx)
	timed("host Close with a transaction outstanding", host.Close)
	if err := tx.Wait(); !errors.Is(err, memory.ErrClosed) {
		t.Fatalf("outstanding after host Close: %v", err)
	}
	tx.Release()
	if err := m.Read(0, make([]byte, 4)); !errors.Is(err, memory.ErrClosed) {
		t.Fatalf("read after host Close: %v", err)
	}
	m.Close()
	// busy
	host, dev := NewHost(), NewDevice(memory.NewEmulate(4, 4096))
	engine.Connect(host, dev)
	engine.Connect(dev, host)
	m = memory.NewMaster(host)
	w := &workload{total: 1 << 30, inflight: 8, minSize: 4, maxSize: 256, seed: 2}
	done := make(chan struct{})
	go func() { w.run(t, m); close(done) }()
	time.Sleep(20 * time.Millisecond)
	timed("busy master Close", m.Close)
	timed("busy host Close", host.Close)
	timed("busy device Close", dev.Close)
	<-done
	if w.errs.Load() == 0 || w.mismatches.Load() != 0 {
		t.Fatalf("after Close under traffic: %s", w.report())
	}
}
