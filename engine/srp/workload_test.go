package srp

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/engine/memory"
	"udpstream.dev/internal/testutils"
)

// workload is a run of random transactions from inflight workers, each on
// a region of its own with a shadow copy of what it wrote, so that every
// read and verify has one right answer.
type workload struct {
	total, inflight  int
	minSize, maxSize int
	seed             uint64

	done, mismatches, errs atomic.Int64
	byKind                 sync.Map // error text class -> *atomic.Int64
}

// regionSize is each worker's address window.
const regionSize = 2 * MaxAccess

func (w *workload) run(t testing.TB, m *memory.Master) {
	t.Helper()
	var wg sync.WaitGroup
	per := w.total / w.inflight
	for i := range w.inflight {
		n := per
		if i < w.total%w.inflight {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.worker(m, i, n)
		}()
	}
	wg.Wait()
}

func (w *workload) worker(m *memory.Master, slot, n int) {
	rng := rand.New(rand.NewPCG(w.seed, uint64(slot)))
	var seed [32]byte
	seed[0], seed[1] = byte(slot), byte(w.seed)
	fill := rand.NewChaCha8(seed)
	base := uint64(slot) * regionSize
	shadow := make([]byte, regionSize)
	buf := make([]byte, w.maxSize)
	for range n {
		size := 4 * (w.minSize/4 + rng.IntN((w.maxSize-w.minSize)/4+1))
		off := 4 * rng.IntN((regionSize-size)/4+1)
		p := buf[:size]
		var err error
		switch rng.IntN(4) {
		case 0:
			err = m.Read(base+uint64(off), p)
			if err == nil && !bytes.Equal(p, shadow[off:off+size]) {
				w.mismatches.Add(1)
			}
		case 1, 2:
			fill.Read(p)
			if rng.IntN(2) == 0 {
				err = m.Write(base+uint64(off), p)
			} else {
				err = m.Post(base+uint64(off), p)
			}
			copy(shadow[off:], p) // a failed write leaves the region unknown: counted as an error
		default:
			err = m.Verify(base+uint64(off), shadow[off:off+size])
			if errors.Is(err, memory.ErrVerify) {
				w.mismatches.Add(1)
				err = nil
			}
		}
		w.done.Add(1)
		if err != nil {
			w.errs.Add(1)
			w.kind(err)
			if errors.Is(err, memory.ErrClosed) {
				return
			}
		}
	}
}

func (w *workload) kind(err error) {
	k := "other"
	for _, c := range []error{memory.ErrTimeout, memory.ErrClosed, ErrProtocol, ErrSizeMismatch, ErrBus, ErrSend} {
		if errors.Is(err, c) {
			k = c.Error()
			break
		}
	}
	v, _ := w.byKind.LoadOrStore(k, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (w *workload) report() string {
	s := fmt.Sprintf("%d transactions, %d mismatches, %d errors", w.done.Load(), w.mismatches.Load(), w.errs.Load())
	w.byKind.Range(func(k, v any) bool {
		s += fmt.Sprintf(" [%v: %d]", k, v.(*atomic.Int64).Load())
		return true
	})
	return s
}

// scaled returns n, shrunk under -short and -race, with the reason logged.
func scaled(t testing.TB, n, raceDiv int) int {
	switch {
	case testing.Short():
		t.Logf("-short: %d of %d transactions", n/20, n)
		return n / 20
	case raceEnabled:
		t.Logf("-race: %d of %d transactions (the full count runs without -race)", n/raceDiv, n)
		return n / raceDiv
	}
	return n
}

// check fails t unless every transaction completed without error or
// mismatch.
func (w *workload) check(t testing.TB) {
	t.Helper()
	if w.done.Load() != int64(w.total) || w.mismatches.Load() != 0 || w.errs.Load() != 0 {
		t.Fatal(w.report())
	}
	t.Log(w.report())
}

// checkServed waits until the device has answered or posted every request
// the host sent (it counts a request on arrival and serves it on its own
// goroutine, and the last posted writes may still be on their way), then
// checks that the host's and the device's counts agree with the workload.
func checkServed(t *testing.T, w *workload, host *Host, dev *Device, limit time.Duration) {
	t.Helper()
	testutils.Eventually(t, limit, "device served every request", func() bool {
		ds := dev.Stats()
		return ds.RxFrames == host.Stats().Requests && ds.Served+ds.Posted >= ds.RxFrames
	})
	hs, ds := host.Stats(), dev.Stats()
	if hs.RxOK+hs.Posted != uint64(w.total) || hs.RxFrames != hs.RxOK || ds.Served != hs.RxOK || ds.Posted != hs.Posted {
		t.Fatalf("host %+v device %+v", hs, ds)
	}
}
