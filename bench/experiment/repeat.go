package experiment

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"

	"udpstream.dev/bench/report"
)

// CaseSummary condenses repeated runs of one case: the median and range
// of each rate, and the loss summed over the runs and split by cause.
type CaseSummary struct {
	Test report.TestInfo `json:"test"`
	// Runs counts the runs, Failed those that could not run (their
	// figures are left out of the spreads).
	Runs   int `json:"runs"`
	Failed int `json:"failed"`
	// Offered is datagrams handed to the kernel (sent or refused) per
	// second of sending; Received is the receiver's rate.
	Offered      Spread `json:"offered_datagrams_per_second"`
	Received     Spread `json:"received_datagrams_per_second"`
	ReceivedBits Spread `json:"received_bits_per_second"`
	LostPercent  Spread `json:"lost_percent"`
	// Loss is summed over the runs.
	Loss            LossCauses `json:"loss"`
	RxNsPerDatagram Spread     `json:"rx_cpu_ns_per_datagram"`
	TxNsPerDatagram Spread     `json:"tx_cpu_ns_per_datagram"`
	PRBSErrors      uint64     `json:"prbs_errors"`
	// Error is the first run's error, if any run failed.
	Error   string          `json:"error,omitempty"`
	Results []report.Result `json:"results"`
}

// LossCauses splits lost datagrams by where they were dropped, in
// datagrams. KernelDrops, RingDrops, PoolExhausted and Oversize are the
// receiver's counters and part of Lost; Other is the rest of Lost, which
// no counter saw (dropped in flight, or still in flight at the end). The
// kernel counts a receive buffer it drops once, however many datagrams
// it held, so with GRO most socket-buffer loss shows under Other.
// SendErrors are datagrams the sender's kernel refused: never sent, so
// not part of Lost.
type LossCauses struct {
	Sent          uint64 `json:"sent"`
	Lost          uint64 `json:"lost"`
	KernelDrops   uint64 `json:"kernel_drops"`
	RingDrops     uint64 `json:"ring_drops"`
	PoolExhausted uint64 `json:"pool_exhausted"`
	Oversize      uint64 `json:"oversize"`
	Other         uint64 `json:"other"`
	SendErrors    uint64 `json:"send_errors"`
}

// Percent is Lost in percent of Sent: the loss of all the runs together,
// in the same units as the summed counts beside it.
func (l LossCauses) Percent() float64 {
	if l.Sent == 0 {
		return 0
	}
	return 100 * float64(l.Lost) / float64(l.Sent)
}

// add counts one run's loss.
func (l *LossCauses) add(r report.Result) {
	v := r.SumReceived
	l.Sent += r.SumSent.Packets
	l.Lost += v.LostPackets
	l.KernelDrops += v.KernelDrops
	l.RingDrops += v.RingDrops
	l.PoolExhausted += v.PoolExhausted
	l.Oversize += v.Oversize
	l.SendErrors += r.SumSent.Errors
	seen := v.KernelDrops + v.RingDrops + v.PoolExhausted + v.Oversize
	if v.LostPackets > seen {
		l.Other += v.LostPackets - seen
	}
}

// caseKey identifies the case a result belongs to.
func caseKey(t report.TestInfo) string {
	return fmt.Sprintf("%s/%d/%d/%s/%v/%s/%d", t.Transport, t.Payload, t.Batch, t.Rate, t.PRBS, t.Network, t.RxQueue)
}

// Summarize groups consecutive results of the same case, as a sweep of
// repeated cases returns them, and condenses each group.
func Summarize(results []report.Result) []CaseSummary {
	var out []CaseSummary
	for i := 0; i < len(results); {
		j := i + 1
		for j < len(results) && caseKey(results[j].Test) == caseKey(results[i].Test) {
			j++
		}
		out = append(out, summarize(results[i:j]))
		i = j
	}
	return out
}

// summarize condenses the runs of one case.
func summarize(runs []report.Result) CaseSummary {
	s := CaseSummary{Test: runs[0].Test, Runs: len(runs), Results: runs}
	var offered, received, bits, lost, rxNs, txNs []float64
	for _, r := range runs {
		if r.Error != "" {
			s.Failed++
			if s.Error == "" {
				s.Error = r.Error
			}
			continue
		}
		if secs := r.SumSent.Seconds; secs > 0 {
			offered = append(offered, float64(r.SumSent.Packets+r.SumSent.Errors)/secs)
		}
		received = append(received, r.SumReceived.DatagramsPerSecond)
		bits = append(bits, r.SumReceived.BitsPerSecond)
		lost = append(lost, r.SumReceived.LostPercent)
		rxNs = append(rxNs, r.SumReceived.CPUNsPerDatagram)
		txNs = append(txNs, r.SumSent.CPUNsPerDatagram)
		s.Loss.add(r)
		s.PRBSErrors += r.SumReceived.PRBSErrors
	}
	s.Offered, s.Received, s.ReceivedBits = SpreadOf(offered), SpreadOf(received), SpreadOf(bits)
	s.LostPercent, s.RxNsPerDatagram, s.TxNsPerDatagram = SpreadOf(lost), SpreadOf(rxNs), SpreadOf(txNs)
	return s
}

// MedianRun returns the run whose received datagram rate is the median
// (the lower middle one of an even count), the run a chart shows for
// the case; a failed run only when every run failed.
func (s CaseSummary) MedianRun() report.Result {
	var ok []report.Result
	for _, r := range s.Results {
		if r.Error == "" {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return s.Results[0]
	}
	slices.SortStableFunc(ok, func(a, b report.Result) int {
		return cmp.Compare(a.SumReceived.DatagramsPerSecond, b.SumReceived.DatagramsPerSecond)
	})
	return ok[(len(ok)-1)/2]
}

// grantedXDP is the first run that reports AF_XDP modes, for the table.
func (s CaseSummary) grantedXDP() report.Result {
	for _, r := range s.Results {
		if r.SumReceived.XDPMode != "" || r.SumSent.XDPMode != "" {
			return r
		}
	}
	return report.Result{}
}

// summaryColumns are the table's columns and, for repeated runs, the
// statistic each shows: rates and CPU costs are medians over the runs
// that ran, counts are sums over them, and loss % is the summed lost in
// percent of the summed sent, so that it agrees with the counts.
var summaryColumns = [][2]string{
	{"transport", ""}, {"payload", ""}, {"batch", ""}, {"runs", ""},
	{"offered datagrams/s", "median"}, {"received datagrams/s", "median"}, {"min-max", "range"},
	{"Gbit/s", "median"}, {"loss %", "of sums"}, {"lost", "sum"}, {"kernel drops", "sum"},
	{"ring drops", "sum"}, {"pool", "sum"}, {"oversize", "sum"}, {"other", "sum"},
	{"send errors", "sum"}, {"rx ns/dgram", "median"}, {"tx ns/dgram", "median"}, {"PRBS errors", "sum"},
}

// WriteSummaryTable writes one row per case: runs, offered and received
// datagram rates (median, range), Gbit/s, the loss over all runs (in
// percent of all datagrams sent, and split by cause), CPU ns per datagram
// (median) and PRBS errors. When a case ran more than once, a second
// header line names the statistic of each column.
func WriteSummaryTable(w io.Writer, sums []CaseSummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	writeSummaryHeader(tw, sums)
	for _, s := range sums {
		t := s.Test
		if s.Failed == s.Runs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n", t.Transport, t.Payload, t.Batch, s.Runs, "error: "+report.FirstLine(s.Error))
			continue
		}
		runs := strconv.Itoa(s.Runs)
		if s.Failed > 0 {
			runs = fmt.Sprintf("%d (%d failed)", s.Runs, s.Failed)
		}
		prbs := "-"
		if t.PRBS {
			prbs = strconv.FormatUint(s.PRBSErrors, 10)
		}
		l := s.Loss
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.0f\t%.0f\t%s\t%.3f\t%.3f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n",
			report.TransportCell(t.Transport, s.grantedXDP()), t.Payload, t.Batch, runs, s.Offered.Median, s.Received.Median, spreadCell(s.Received, 0),
			s.ReceivedBits.Median/1e9, l.Percent(), l.Lost, l.KernelDrops, l.RingDrops, l.PoolExhausted,
			l.Oversize, l.Other, l.SendErrors, report.NSCell(s.RxNsPerDatagram.Median), report.NSCell(s.TxNsPerDatagram.Median), prbs)
	}
	return tw.Flush()
}

// writeSummaryHeader writes the column names and, when any case ran more
// than once, the statistic of each column under them.
func writeSummaryHeader(w io.Writer, sums []CaseSummary) {
	repeated := slices.ContainsFunc(sums, func(s CaseSummary) bool { return s.Runs > 1 })
	for i := range 2 {
		if i == 1 && !repeated {
			return
		}
		for _, c := range summaryColumns {
			fmt.Fprintf(w, "%s\t", c[i])
		}
		fmt.Fprintln(w)
	}
}

// RepeatCases lists every case n times in a row, the order Summarize
// groups them in.
func RepeatCases(cases []report.Case, n int) []report.Case {
	out := make([]report.Case, 0, len(cases)*n)
	for _, c := range cases {
		for range n {
			out = append(out, c)
		}
	}
	return out
}
