package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"udpstream.dev/bench/report"
)

// ServeParallel runs n servers at once on ports cfg.Port .. cfg.Port+n-1
// (the receiving side of udpperf client -P), each with its own socket and
// receiving goroutine, and returns their reports summed (MergeServerReports).
// onStream gets each server's intervals, numbered from 1; onRecord the
// summed records (see TransmitParallel); cfg.OnStart the summed start
// section once every server listens. cfg.Port 0 and Taps are refused:
// the streams need known consecutive ports, and a tap would be fed from
// n goroutines at once.
func ServeParallel(ctx context.Context, cfg ServeConfig, n int, onStream func(socket int, iv report.Interval), onRecord func(report.IntervalRecord)) (ServerReport, error) {
	switch {
	case n < 1:
		return ServerReport{}, fmt.Errorf("%w: %d streams", ErrParallelMode, n)
	case cfg.Port == 0 || cfg.Port+n-1 > 65535:
		return ServerReport{}, fmt.Errorf("%w: port %d for %d streams (needs ports 1..65535)", ErrParallelMode, cfg.Port, n)
	case len(cfg.Taps) > 0:
		return ServerReport{}, fmt.Errorf("%w: taps (--record, --bridge)", ErrParallelMode)
	}
	fan := newFanIn(n, onRecord, cfg.OnStart, onStream)
	reps := make([]ServerReport, n)
	errs := make([]error, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		sc := cfg
		sc.Port = cfg.Port + i
		sc.OnInterval, sc.OnStart = fan.hooks(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = Serve(ctx, sc)
			fan.done(i)
			if errs[i] != nil {
				cancel() // one port failed to open: stop the others
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(streamErrors(errs)...); err != nil {
		return ServerReport{}, err
	}
	return MergeServerReports(reps), nil
}
