package main

import (
	"context"
	"fmt"

	"udpstream.dev/bench/report"
)

func runVersion(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("version", "[--json]", "Prints the udpperf build and the machine it runs on.", e.stdout)
	jsonOut := fs.Bool("json", false, "print the description as JSON (the start.system section of every report)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	s := report.CollectSystem()
	if *jsonOut {
		return writeJSON(e.stdout, s)
	}
	v := s.ModuleVersion
	if v == "" {
		v = "(unknown)"
	}
	fmt.Fprintf(e.stdout, "udpperf %s %s (%s, %s/%s), kernel %s, %d CPUs\n", s.Module, v, s.GoVersion, s.GOOS, s.GOARCH, s.Kernel, s.CPUs)
	return nil
}
