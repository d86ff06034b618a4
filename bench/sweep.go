package bench

import (
	"context"
	"errors"

	"udpstream.dev/bench/report"
)

// Sweep runs cases one after the other. progress, if set, is called
// before each case with its 1-based index, the total and a nil result, and
// again after it with the result. A case that cannot run is recorded with
// its Error and the sweep goes on; the sweep stops early only when ctx
// ends, returning the results so far and ctx's error.
func Sweep(ctx context.Context, cases []report.Case, progress func(i, n int, c report.Case, r *report.Result)) ([]report.Result, error) {
	return SweepWith(ctx, cases, Run, progress)
}

// LatencySweep runs latency cases one after the other, like Sweep.
func LatencySweep(ctx context.Context, cases []LatencyCase, progress func(i, n int, c LatencyCase, r *LatencyResult)) ([]LatencyResult, error) {
	return SweepWith(ctx, cases, Latency, progress)
}

// SweepWith is the loop behind Sweep and LatencySweep: run each case in turn,
// keeping its result (failures included) unless ctx ended meanwhile.
func SweepWith[C, R any](ctx context.Context, cases []C, run func(context.Context, C) (R, error), progress func(i, n int, c C, r *R)) ([]R, error) {
	results := make([]R, 0, len(cases))
	for i, c := range cases {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		if progress != nil {
			progress(i+1, len(cases), c, nil)
		}
		// A case's error is recorded in its result; the sweep goes on.
		r, _ := run(ctx, c)
		if err := ctx.Err(); err != nil {
			// An interrupted case measured less than asked: leave it out.
			return results, err
		}
		results = append(results, r)
		if progress != nil {
			progress(i+1, len(cases), c, &r)
		}
	}
	return results, nil
}

// FirstFailure returns an error describing the first failed result (an
// error or PRBS errors), or nil.
func FirstFailure(results []report.Result) error {
	for _, r := range results {
		switch {
		case r.Error != "":
			return errors.New(r.Test.Transport + ": " + r.Error)
		case r.SumReceived.PRBSErrors > 0:
			return errors.New(r.Test.Transport + ": PRBS errors: " + r.SumReceived.PRBSFirstError)
		}
	}
	return nil
}
