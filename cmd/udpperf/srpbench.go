package main

import (
	"context"
	"fmt"

	"udpstream.dev/bench/srpbench"
)

// srpBench runs udpperf srp bench and prints its result.
func srpBench(ctx context.Context, e env, h *srpbench.Host, sf srpFlags) error {
	res := srpbench.Run(ctx, h, sf.link, srpbench.Config{Size: sf.size, Inflight: sf.inflight, Time: sf.time, Verify: sf.verify})
	if sf.json {
		return writeJSON(e.stdout, res)
	}
	res.WriteText(e.stdout)
	if res.Errors > 0 || res.Mismatches > 0 {
		return fmt.Errorf("%d errors, %d mismatches", res.Errors, res.Mismatches)
	}
	return nil
}
