package srpbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/srp"
)

// Config is one bench run.
type Config struct {
	Size     int           // bytes per transaction
	Inflight int           // transactions in flight at once, each in its own address window
	Time     time.Duration // how long to run
	Verify   bool          // write random data and read it back, counting mismatches
}

// Result is the bench's report (udpperf srp bench --json).
type Result struct {
	Link                  string           `json:"link"`
	Size                  int              `json:"size"`
	Inflight              int              `json:"inflight"`
	Verify                bool             `json:"verify"`
	Seconds               float64          `json:"seconds"`
	Transactions          int64            `json:"transactions"`
	TransactionsPerSecond float64          `json:"transactions_per_second"`
	Mismatches            int64            `json:"mismatches"`
	Errors                int64            `json:"errors"`
	ErrorsByKind          map[string]int64 `json:"errors_by_kind"`
	Latency               Latency          `json:"latency_us"`
	Host                  srp.HostStats    `json:"host"`
}

// Latency holds transaction latency percentiles in microseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// worker is one in-flight slot of the bench: its own address window, its
// latencies and its counts.
type worker struct {
	lat        []time.Duration
	mismatches int64
	errs       map[string]int64
}

// Run keeps cfg.Inflight transactions in flight through h for cfg.Time
// (or until ctx ends) and returns their counts and latencies.
func Run(ctx context.Context, h *Host, l Link, cfg Config) Result {
	ctx, cancel := context.WithTimeout(ctx, cfg.Time)
	defer cancel()
	workers := make([]*worker, cfg.Inflight)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &worker{errs: map[string]int64{}}
		workers[i] = w
		wg.Go(func() { w.run(ctx, h.M, uint64(i)*uint64(2*cfg.Size), cfg.Size, cfg.Verify) })
	}
	wg.Wait()
	res := summarise(workers, time.Since(start), l, cfg)
	res.Host = h.Stats()
	return res
}

// WriteText prints res as three lines of text.
func (res Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "srp bench %s: %d-byte %s, %d in flight, %.1f s\n", res.Link, res.Size, map[bool]string{false: "reads", true: "writes read back"}[res.Verify], res.Inflight, res.Seconds)
	fmt.Fprintf(w, "%d transactions, %.0f/s, latency p50 %.1f us, p99 %.1f us, max %.1f us\n",
		res.Transactions, res.TransactionsPerSecond, res.Latency.P50, res.Latency.P99, res.Latency.Max)
	fmt.Fprintf(w, "%d errors %v, %d mismatches\n", res.Errors, res.ErrorsByKind, res.Mismatches)
}

// run loops until ctx ends: a read, or a write of random data and a read
// compared with it.
func (w *worker) run(ctx context.Context, m *memory.Master, addr uint64, size int, verify bool) {
	rng := rand.New(rand.NewPCG(addr, 1))
	want, got := make([]byte, size), make([]byte, size)
	for ctx.Err() == nil {
		t0 := time.Now()
		var err error
		if verify {
			for i := range want {
				want[i] = byte(rng.Uint32())
			}
			if err = m.Write(addr, want); err == nil {
				err = m.Read(addr, got)
				if err == nil && !bytes.Equal(want, got) {
					w.mismatches++
				}
			}
		} else {
			err = m.Read(addr, got)
		}
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, memory.ErrClosed) {
				return
			}
			w.errs[ErrorKind(err)]++
			continue
		}
		w.lat = append(w.lat, time.Since(t0))
	}
}

// ErrorKind names an error's class for errors_by_kind.
func ErrorKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{memory.ErrTimeout, "timeout"}, {memory.ErrClosed, "closed"}, {srp.ErrProtocol, "protocol"},
		{srp.ErrSizeMismatch, "size_mismatch"}, {srp.ErrBus, "bus"}, {srp.ErrSend, "send"},
		{memory.ErrUnaligned, "unaligned"}, {memory.ErrSize, "size"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other"
}

func summarise(workers []*worker, elapsed time.Duration, l Link, cfg Config) Result {
	res := Result{Link: l.String(), Size: cfg.Size, Inflight: cfg.Inflight, Verify: cfg.Verify,
		Seconds: elapsed.Seconds(), ErrorsByKind: map[string]int64{}}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat...)
		res.Mismatches += w.mismatches
		for k, n := range w.errs {
			res.ErrorsByKind[k] += n
			res.Errors += n
		}
	}
	res.Transactions = int64(len(all)) + res.Errors
	res.TransactionsPerSecond = float64(len(all)) / elapsed.Seconds()
	if len(all) > 0 {
		slices.Sort(all)
		at := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e3 }
		res.Latency = Latency{P50: at(0.5), P99: at(0.99), Max: float64(all[len(all)-1]) / 1e3}
	}
	return res
}
