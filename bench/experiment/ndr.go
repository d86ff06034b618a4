package experiment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/report"
)

// The no-drop rate (NDR) is RFC 2544's throughput: the highest offered
// rate at which the receiver loses at most an accepted fraction of what
// was offered over a trial of fixed length. [SearchNDR] finds it by
// binary search over trials; [NDR] runs that search on loopback or a veth
// pair with [bench.Run] as the trial, once per repeat.

// Defaults of an NDR search.
const (
	DefaultNDRTrial      = time.Second
	DefaultNDRResolution = 0.01 // of the upper bound
	DefaultNDRMaxSteps   = 20
)

// Trial is the outcome of one trial of an NDR search.
type Trial struct {
	// Asked is the rate the sender was paced to in datagrams/s, 0 for as
	// fast as possible.
	Asked float64 `json:"asked_datagrams_per_second"`
	// Offered is the rate actually offered: datagrams handed to the
	// kernel, sent or refused, per second of sending.
	Offered float64 `json:"offered_datagrams_per_second"`
	// Received is the receiver's rate in datagrams/s.
	Received float64 `json:"received_datagrams_per_second"`
	// Offers and Lost count the datagrams offered and those that never
	// arrived (including any the kernel refused to send); LostPercent is
	// Lost of Offers.
	Offers      uint64  `json:"offered"`
	Lost        uint64  `json:"lost"`
	LostPercent float64 `json:"lost_percent"`
	// Pass says the loss was within the search's limit.
	Pass bool `json:"pass"`
}

// TrialFunc runs one trial at perSecond datagrams/s (0: as fast as the
// sender goes) and reports what was offered and lost. An error ends the
// search.
type TrialFunc func(ctx context.Context, perSecond float64) (Trial, error)

// Search bounds an NDR search.
type Search struct {
	// Loss is the accepted loss in percent of the datagrams offered
	// (0: none at all).
	Loss float64
	// Resolution ends the search once the bracket around the NDR is at
	// most this fraction of the upper bound (default 0.01).
	Resolution float64
	// MaxSteps bounds the number of trials, the first included (default
	// 20).
	MaxSteps int
}

func (s Search) withDefaults() Search {
	if s.Resolution == 0 {
		s.Resolution = DefaultNDRResolution
	}
	if s.MaxSteps == 0 {
		s.MaxSteps = DefaultNDRMaxSteps
	}
	return s
}

// Validate reports every problem of the search bounds in one error.
func (s Search) Validate() error {
	var errs []error
	if s.Loss < 0 || s.Loss >= 100 {
		errs = append(errs, fmt.Errorf("loss %g%% outside 0..100", s.Loss))
	}
	if s.Resolution < 0 || s.Resolution >= 1 {
		errs = append(errs, fmt.Errorf("resolution %g outside 0..1 (a fraction of the highest rate)", s.Resolution))
	}
	if s.MaxSteps < 0 || s.MaxSteps == 1 {
		errs = append(errs, fmt.Errorf("max steps %d: want at least 2", s.MaxSteps))
	}
	return errors.Join(errs...)
}

// SearchResult is the outcome of one NDR search.
type SearchResult struct {
	// Found says a trial passed; NDR is then the offered rate of the
	// fastest passing trial, in datagrams/s. LowestFailed is the rate
	// the slowest failing trial offered (0 when none failed); when nothing
	// passed, NDR is 0 and that rate still lost too much.
	Found bool    `json:"found"`
	NDR   float64 `json:"ndr_datagrams_per_second"`
	// Ceiling is what the sender offered unpaced, the upper bound of the
	// search. SenderLimited says the unpaced trial passed: the NDR is the
	// sender's own limit, not the receiver's.
	Ceiling       float64 `json:"ceiling_datagrams_per_second"`
	SenderLimited bool    `json:"sender_limited"`
	LowestFailed  float64 `json:"lowest_failed_datagrams_per_second,omitempty"`
	// Resolved says the bracket closed to the resolution; false when the
	// step limit ended the search first.
	Resolved bool    `json:"resolved"`
	Trials   []Trial `json:"trials"`
}

// SearchNDR finds the highest rate at which trial loses at most s.Loss
// percent. The first trial is unpaced and sets the upper bound; when it
// passes, that is the NDR. Otherwise a binary search between 0 and that
// bound keeps the fastest passing and the slowest failing rate, until
// they are within s.Resolution of the bound or s.MaxSteps trials ran.
// The NDR is the rate the fastest passing trial offered, which is below
// the rate it asked when the sender fell short.
// progress, if set, sees every trial with its 1-based step.
func SearchNDR(ctx context.Context, s Search, trial TrialFunc, progress func(step int, t Trial)) (SearchResult, error) {
	s = s.withDefaults()
	var res SearchResult
	if err := s.Validate(); err != nil {
		return res, err
	}
	step := func(perSecond float64) (Trial, error) {
		return runTrial(ctx, s, trial, perSecond, &res, progress)
	}
	first, err := step(0)
	if err != nil {
		return res, err
	}
	if first.Offers == 0 {
		return res, errors.New("the unpaced trial offered nothing: no upper bound to search below")
	}
	res.Ceiling = first.Offered
	if first.Pass {
		res.Found, res.NDR, res.SenderLimited, res.Resolved = true, first.Offered, true, true
		return res, nil
	}
	lo, hi := 0.0, res.Ceiling
	res.LowestFailed = hi
	for len(res.Trials) < s.MaxSteps {
		if hi-lo <= s.Resolution*res.Ceiling {
			res.Resolved = true
			break
		}
		mid := (lo + hi) / 2
		t, err := step(mid)
		if err != nil {
			return res, err
		}
		// The bracket is kept in rates asked, in which loss grows
		// monotonically even where the sender falls short of them; the
		// figures are the rates offered.
		if t.Pass {
			lo = mid
			if t.Offered > res.NDR {
				res.Found, res.NDR = true, t.Offered
			}
		} else {
			hi = mid
			res.LowestFailed = min(res.LowestFailed, t.Offered)
		}
	}
	res.Resolved = res.Resolved || hi-lo <= s.Resolution*res.Ceiling
	return res, nil
}

// runTrial runs one trial at perSecond, judges it against s.Loss and
// appends it to res.Trials.
func runTrial(ctx context.Context, s Search, trial TrialFunc, perSecond float64, res *SearchResult, progress func(int, Trial)) (Trial, error) {
	if err := ctx.Err(); err != nil {
		return Trial{}, err
	}
	t, err := trial(ctx, perSecond)
	if err != nil {
		return t, err
	}
	t.Asked = perSecond
	t.LostPercent = lossPercent(t.Lost, t.Offers)
	t.Pass = t.Offers > 0 && t.LostPercent <= s.Loss
	res.Trials = append(res.Trials, t)
	if progress != nil {
		progress(len(res.Trials), t)
	}
	return t, nil
}

// lossPercent is lost of offered in percent, 0 for nothing offered.
func lossPercent(lost, offered uint64) float64 {
	if offered == 0 {
		return 0
	}
	return 100 * float64(lost) / float64(offered)
}

// Spread is the median, minimum and maximum of repeated measurements.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// SpreadOf summarises values; the zero Spread for none. The median of an
// even count is the mean of the middle two.
func SpreadOf(values []float64) Spread {
	if len(values) == 0 {
		return Spread{}
	}
	v := slices.Clone(values)
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return Spread{Median: med, Min: v[0], Max: v[n-1]}
}

// NDRCase is one NDR measurement: Case (its Rate and Duration are set by
// the search: Duration is the trial length, default 1 s) searched Repeat
// times (default 1).
type NDRCase struct {
	report.Case
	Search Search
	Repeat int
	// OnTrial, if set, sees every trial: the 1-based repeat and step.
	OnTrial func(repeat, step int, t Trial)
}

// NDRResult is the outcome of an NDRCase ("end.results[]" of udpperf ndr).
type NDRResult struct {
	Test report.TestInfo `json:"test"`
	// LossLimit is the accepted loss in percent of the offered datagrams.
	LossLimit  float64 `json:"loss_limit_percent"`
	Resolution float64 `json:"resolution"`
	// NDR spreads the found rates over the repeats in datagrams/s (0 for
	// a repeat where no rate passed), NDRBits the same in payload bit/s.
	NDR     Spread `json:"ndr_datagrams_per_second"`
	NDRBits Spread `json:"ndr_bits_per_second"`
	// Found counts the repeats in which some rate passed.
	Found   int            `json:"found"`
	Repeats []SearchResult `json:"repeats"`
	Error   string         `json:"error,omitempty"`
}

// withDefaults fills in the defaults of an NDR case.
func (nc NDRCase) withDefaults() NDRCase {
	if nc.Duration == 0 {
		nc.Duration = DefaultNDRTrial
	}
	if nc.Repeat == 0 {
		nc.Repeat = 1
	}
	nc.Rate = report.Rate{}
	nc.Case = nc.Case.WithDefaults()
	nc.Search = nc.Search.withDefaults()
	return nc
}

// Validate reports every problem of an NDR case in one error.
func (nc NDRCase) Validate() error {
	nc = nc.withDefaults()
	err := errors.Join(nc.Case.Validate(), nc.Search.Validate())
	if nc.Repeat < 1 {
		err = errors.Join(err, fmt.Errorf("repeat %d: want at least 1", nc.Repeat))
	}
	return err
}

// NDR searches the no-drop rate of a case Repeat times, each trial a Run
// of Duration at the rate under test.
func NDR(ctx context.Context, nc NDRCase) (NDRResult, error) {
	nc = nc.withDefaults()
	res := NDRResult{Test: nc.TestInfo(), LossLimit: nc.Search.Loss, Resolution: nc.Search.Resolution}
	res.Test.Rate = "ndr search"
	if err := nc.Validate(); err != nil {
		res.Error = err.Error()
		return res, err
	}
	var found []float64
	for rep := 1; rep <= nc.Repeat; rep++ {
		var progress func(int, Trial)
		if nc.OnTrial != nil {
			progress = func(step int, t Trial) { nc.OnTrial(rep, step, t) }
		}
		sr, err := SearchNDR(ctx, nc.Search, nc.trial, progress)
		if err != nil {
			res.Error = err.Error()
			return res, err
		}
		res.Repeats = append(res.Repeats, sr)
		found = append(found, sr.NDR)
		if sr.Found {
			res.Found++
		}
	}
	res.NDR = SpreadOf(found)
	bits := 8 * float64(nc.Payload)
	res.NDRBits = Spread{Median: res.NDR.Median * bits, Min: res.NDR.Min * bits, Max: res.NDR.Max * bits}
	return res, nil
}

// trial runs the case for one trial at perSecond datagrams/s.
func (nc NDRCase) trial(ctx context.Context, perSecond float64) (Trial, error) {
	c := nc.Case
	c.Rate = report.Rate{DatagramsPerSecond: perSecond}
	r, err := bench.Run(ctx, c)
	if err != nil {
		return Trial{}, err
	}
	return trialOf(r), nil
}

// trialOf reads a trial's figures from a Run: datagrams the kernel
// refused to send count as offered and lost.
func trialOf(r report.Result) Trial {
	s, v := r.SumSent, r.SumReceived
	t := Trial{Offers: s.Packets + s.Errors, Lost: v.LostPackets + s.Errors, Received: v.DatagramsPerSecond}
	if s.Seconds > 0 {
		t.Offered = float64(t.Offers) / s.Seconds
	}
	return t
}

// NDRSweep runs NDR cases one after the other, like Sweep.
func NDRSweep(ctx context.Context, cases []NDRCase, progress func(i, n int, c NDRCase, r *NDRResult)) ([]NDRResult, error) {
	return bench.SweepWith(ctx, cases, NDR, progress)
}
