package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/srp"
)

// srpBenchResult is udpperf srp bench's report (--json).
type srpBenchResult struct {
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
	Latency               srpLatency       `json:"latency_us"`
	Host                  srp.HostStats    `json:"host"`
}

type srpLatency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// srpWorker is one in-flight slot of the bench: its own address window,
// its latencies and its counts.
type srpWorker struct {
	lat        []time.Duration
	mismatches int64
	errs       map[string]int64
}

func srpBench(ctx context.Context, e env, h *srpHost, sf srpFlags) error {
	ctx, cancel := context.WithTimeout(ctx, sf.time)
	defer cancel()
	workers := make([]*srpWorker, sf.inflight)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &srpWorker{errs: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, h.m, uint64(i)*uint64(2*sf.size), sf.size, sf.verify)
		}()
	}
	wg.Wait()
	res := summarise(workers, time.Since(start), sf)
	res.Host = h.host.Stats()
	if sf.json {
		return writeJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "srp bench %s: %d-byte %s, %d in flight, %.1f s\n", res.Link, sf.size, map[bool]string{false: "reads", true: "writes read back"}[sf.verify], sf.inflight, res.Seconds)
	fmt.Fprintf(e.stdout, "%d transactions, %.0f/s, latency p50 %.1f us, p99 %.1f us, max %.1f us\n",
		res.Transactions, res.TransactionsPerSecond, res.Latency.P50, res.Latency.P99, res.Latency.Max)
	fmt.Fprintf(e.stdout, "%d errors %v, %d mismatches\n", res.Errors, res.ErrorsByKind, res.Mismatches)
	if res.Errors > 0 || res.Mismatches > 0 {
		return fmt.Errorf("%d errors, %d mismatches", res.Errors, res.Mismatches)
	}
	return nil
}

// run loops until ctx ends: a read, or a write of random data and a read
// compared with it.
func (w *srpWorker) run(ctx context.Context, m *memory.Master, addr uint64, size int, verify bool) {
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
			w.errs[srpErrorKind(err)]++
			continue
		}
		w.lat = append(w.lat, time.Since(t0))
	}
}

// srpErrorKind names an error's class for errors_by_kind.
func srpErrorKind(err error) string {
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

func summarise(workers []*srpWorker, elapsed time.Duration, sf srpFlags) srpBenchResult {
	res := srpBenchResult{Link: sf.link.String(), Size: sf.size, Inflight: sf.inflight, Verify: sf.verify,
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
		res.Latency = srpLatency{P50: at(0.5), P99: at(0.99), Max: float64(all[len(all)-1]) / 1e3}
	}
	return res
}

func (l srpLink) String() string {
	s := "udp"
	if l.rssi {
		s = fmt.Sprintf("rssi+packetizer v%d", l.packetizer)
	}
	if l.jumbo {
		s += " jumbo"
	}
	return s
}
