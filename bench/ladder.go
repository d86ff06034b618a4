package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency figures are kept the way sockperf reports them: a warm-up
// period whose samples are discarded, then every sample in an HDR
// histogram (for the percentile ladder) and in running moments (for the
// exact minimum, maximum, mean and standard deviation).

// DefaultWarmup is the warm-up udpperf latency discards, as sockperf does.
const DefaultWarmup = 400 * time.Millisecond

// histogram range: 1 ns to 10 s at three significant digits.
const (
	histLowest  = 1
	histHighest = int64(10 * time.Second)
	histDigits  = 3
)

// Ladder is a latency distribution in microseconds: sockperf's percentile
// ladder with the minimum, maximum, mean and standard deviation.
type Ladder struct {
	MinUs    float64 `json:"min_us"`
	MeanUs   float64 `json:"mean_us"`
	StdDevUs float64 `json:"std_dev_us"`
	P25Us    float64 `json:"p25_us"`
	P50Us    float64 `json:"p50_us"`
	P75Us    float64 `json:"p75_us"`
	P90Us    float64 `json:"p90_us"`
	P99Us    float64 `json:"p99_us"`
	P999Us   float64 `json:"p99_9_us"`
	P9999Us  float64 `json:"p99_99_us"`
	P99999Us float64 `json:"p99_999_us"`
	MaxUs    float64 `json:"max_us"`
}

// recorder collects latency samples on one goroutine. Samples taken
// before warmup (measured from the start of the run by their send time)
// are counted and discarded; with half set every sample is halved first
// (RTT/2, as sockperf reports).
type recorder struct {
	hist   *hdrhistogram.Histogram
	warmup time.Duration
	half   bool

	count, discarded, clamped uint64
	min, max                  int64
	mean, m2                  float64 // Welford's running mean and squared deviations
}

func newRecorder(warmup time.Duration, half bool) *recorder {
	return &recorder{hist: hdrhistogram.New(histLowest, histHighest, histDigits), warmup: warmup, half: half}
}

// record takes a sample sent at sentAt that returned at now (both since
// the start of the run) and reports whether it was kept.
func (r *recorder) record(sentAt, now time.Duration) bool {
	if sentAt < r.warmup {
		r.discarded++
		return false
	}
	v := max(int64(now-sentAt), 1)
	if r.half {
		v = max(v/2, 1)
	}
	if v > histHighest {
		r.clamped++ // beyond the histogram: counted at its top
		v = histHighest
	}
	r.hist.RecordValue(v)
	if r.count == 0 || v < r.min {
		r.min = v
	}
	r.max = max(r.max, v)
	r.count++
	d := float64(v) - r.mean
	r.mean += d / float64(r.count)
	r.m2 += d * (float64(v) - r.mean)
	return true
}

// ladder computes the distribution of the kept samples.
func (r *recorder) ladder() Ladder {
	if r.count == 0 {
		return Ladder{}
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	// The histogram rounds to three digits; within the exact extremes.
	q := func(p float64) float64 { return us(min(max(r.hist.ValueAtQuantile(p), r.min), r.max)) }
	return Ladder{
		MinUs: us(r.min), MaxUs: us(r.max), MeanUs: r.mean / 1e3,
		StdDevUs: math.Sqrt(r.m2/float64(r.count)) / 1e3,
		P25Us:    q(25), P50Us: q(50), P75Us: q(75), P90Us: q(90),
		P99Us: q(99), P999Us: q(99.9), P9999Us: q(99.99), P99999Us: q(99.999),
	}
}

// Figures names what latency figures are: "RTT" or "RTT/2".
func Figures(half bool) string {
	if half {
		return "RTT/2"
	}
	return "RTT"
}

// WriteHistogramLog writes the histograms of results as an HDR histogram
// log (format 1.3, as HdrHistogram's HistogramLogReader reads it): one
// interval line per case, tagged "transport-payloadB", values in
// nanoseconds, timestamps in seconds since start. Failed cases have no
// histogram and no line.
func WriteHistogramLog(w io.Writer, start time.Time, results []LatencyResult) error {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	half := len(results) > 0 && results[0].HalfRTT
	steps := []func() error{
		lw.OutputLogFormatVersion,
		func() error { return lw.OutputStartTime(start.UnixMilli()) },
		func() error {
			return lw.OutputComment(fmt.Sprintf("udpperf latency: values are %s in nanoseconds, one interval per transport", Figures(half)))
		},
		lw.OutputLegend,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("histogram log: %w", err)
		}
	}
	for _, r := range results {
		if r.hist == nil {
			continue
		}
		enc, err := r.hist.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			return fmt.Errorf("histogram log: %w", err)
		}
		tag := strings.NewReplacer(",", "_", " ", "_").Replace(fmt.Sprintf("%s-%dB", r.Test.Transport, r.Test.Payload))
		from, span := r.histFrom.Sub(start).Seconds(), r.histTo.Sub(r.histFrom).Seconds()
		if _, err := fmt.Fprintf(w, "Tag=%s,%.3f,%.3f,%.3f,%s\n", tag, from, span, float64(r.hist.Max())/1e6, enc); err != nil {
			return fmt.Errorf("histogram log: %w", err)
		}
	}
	return nil
}

// fill copies the recorder's figures into res; base is when the run
// started, from which the kept samples span from the end of the warm-up
// until now.
func (r *recorder) fill(res *LatencyResult, base time.Time) {
	res.Samples, res.WarmupSamples, res.Clamped = r.count, r.discarded, r.clamped
	res.Ladder = r.ladder()
	if r.count > 0 {
		res.hist, res.histFrom, res.histTo = r.hist, base.Add(r.warmup), time.Now()
	}
}
