package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"udpstream.dev/bench"
)

// latencyExtras are the sockperf-style flags of udpperf latency: the
// warm-up, RTT/2, the HDR histogram log and the under-load mode.
type latencyExtras struct {
	warmup     *time.Duration
	halfRTT    *bool
	histogram  *string
	mps        *float64
	replyEvery *int
}

func addLatencyExtras(fs *flag.FlagSet) latencyExtras {
	return latencyExtras{
		warmup:     durationFlag(fs, "warmup", bench.DefaultWarmup, "discard the samples of this first period (0 = keep all)"),
		halfRTT:    fs.Bool("half-rtt", false, "report half the round trip (RTT/2), as sockperf does"),
		histogram:  fs.String("histogram", "", "write every sample to this file as an HDR histogram log (nanoseconds)"),
		mps:        fs.Float64("mps", 0, "under load: stream this many messages per second and measure the round trip of a sample of them (0 = ping-pong)"),
		replyEvery: fs.Int("reply-every", bench.DefaultReplyEvery, "under load (--mps): one message in this many is a ping the server echoes"),
	}
}

// check validates the flags and prepares the histogram file.
func (x latencyExtras) check(fs *flag.FlagSet) error {
	if *x.mps < 0 || math.IsNaN(*x.mps) || math.IsInf(*x.mps, 0) {
		return usageError{fmt.Sprintf("--mps %g: want a positive message rate, or 0 for ping-pong", *x.mps)}
	}
	if *x.replyEvery < 1 {
		return usageError{fmt.Sprintf("--reply-every %d: want at least 1", *x.replyEvery)}
	}
	if isSet(fs, "reply-every") && *x.mps == 0 {
		return usageError{"--reply-every applies under load only (--mps)"}
	}
	return prepareOutput("histogram", *x.histogram)
}

// apply sets the flags' fields of a case.
func (x latencyExtras) apply(c *bench.LatencyCase) {
	c.Warmup, c.HalfRTT, c.MPS, c.ReplyEvery = *x.warmup, *x.halfRTT, *x.mps, *x.replyEvery
}

// figures names the figures in progress lines: "RTT" or "RTT/2".
func (x latencyExtras) figures() string { return bench.Figures(*x.halfRTT) }

// writeHistogram writes the HDR histogram log, if asked for.
func (x latencyExtras) writeHistogram(e env, start time.Time, results []bench.LatencyResult) error {
	if *x.histogram == "" || len(results) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := bench.WriteHistogramLog(&b, start, results); err != nil {
		return err
	}
	if err := os.WriteFile(*x.histogram, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--histogram: %w", err)
	}
	fmt.Fprintf(e.stderr, "histogram: %s\n", *x.histogram)
	return nil
}
