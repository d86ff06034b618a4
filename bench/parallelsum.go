package bench

import "udpstream.dev/bench/account"
import "udpstream.dev/bench/report"
import "udpstream.dev/bench/internal/seqtrack"

// Sums of parallel streams. Counts add up; a rate is the sum of the
// streams' rates (each over its own span, which start within a control
// round trip of each other); a span is the widest. CPU time of a thread
// (CPUScope "thread": a sender's, a session's receiving thread) is its
// own and adds up; CPU time of a process (a server's total) covers every
// stream it serves, so the largest is taken.

// addTotals adds t into s.
func addTotals(s *report.Totals, t report.Totals, first bool) {
	shared := t.CPUScope == "process"
	if first {
		s.Start, s.End = t.Start, t.End
	}
	s.Start, s.End = min(s.Start, t.Start), max(s.End, t.End)
	s.Seconds = max(s.Seconds, t.Seconds)
	s.Bytes += t.Bytes
	s.Packets += t.Packets
	s.BitsPerSecond += t.BitsPerSecond
	s.DatagramsPerSecond += t.DatagramsPerSecond
	if shared {
		s.CPUUser, s.CPUSystem = max(s.CPUUser, t.CPUUser), max(s.CPUSystem, t.CPUSystem)
	} else {
		s.CPUUser += t.CPUUser
		s.CPUSystem += t.CPUSystem
	}
	if s.CPUScope == "" {
		s.CPUScope = t.CPUScope
	}
}

// perDatagram is CPU nanoseconds per datagram of t's totals.
func perDatagram(t report.Totals) float64 {
	if t.Packets == 0 {
		return 0
	}
	return (t.CPUUser + t.CPUSystem) * 1e9 / float64(t.Packets)
}

// SumSent adds up the streams' sender summaries.
func SumSent(ss []report.SentSummary) report.SentSummary {
	out := report.SentSummary{Sender: true}
	for i, s := range ss {
		addTotals(&out.Totals, s.Totals, i == 0)
		out.Errors += s.Errors
		if out.FirstError == "" {
			out.FirstError = s.FirstError
		}
		out.GSO = out.GSO || s.GSO
	}
	out.CPUNsPerDatagram = perDatagram(out.Totals)
	return out
}

// SumReceived adds up the streams' receiver summaries; the loss is known
// only when it is known for every stream, the jitter is their mean.
func SumReceived(rs []report.ReceivedSummary) report.ReceivedSummary {
	out := report.ReceivedSummary{LossKnown: len(rs) > 0}
	for i, r := range rs {
		addTotals(&out.Totals, r.Totals, i == 0)
		out.LostPackets += r.LostPackets
		out.LossKnown = out.LossKnown && r.LossKnown
		out.OutOfOrder += r.OutOfOrder
		out.Restarts += r.Restarts
		out.JitterMs += r.JitterMs / float64(len(rs))
		out.KernelDrops += r.KernelDrops
		out.RingDrops += r.RingDrops
		out.PoolExhausted += r.PoolExhausted
		out.Oversize += r.Oversize
		out.Invalid += r.Invalid
		out.PRBSErrors += r.PRBSErrors
		if out.PRBSFirstError == "" {
			out.PRBSFirstError = r.PRBSFirstError
		}
		out.GRO = out.GRO || r.GRO
	}
	out.LostPercent = seqtrack.Percent(out.LostPackets, out.LostPackets+out.Packets)
	out.CPUNsPerDatagram = perDatagram(out.Totals)
	return out
}

// mergeIntervals pairs the streams' k-th intervals into one record each.
// The streams run in separate processes, and each one's last tick may fall
// either side of its end, so a stream may have an interval more than
// another: what a stream has beyond the fewest any stream has is joined
// into its last common interval, so every record holds every stream and
// no datagram is left out.
func mergeIntervals(per [][]report.IntervalRecord) []report.IntervalRecord {
	n := 0
	for _, recs := range per {
		if len(recs) > 0 && (n == 0 || len(recs) < n) {
			n = len(recs)
		}
	}
	var out []report.IntervalRecord
	for k := range n {
		var ivs []report.StreamInterval
		for i, recs := range per {
			if len(recs) == 0 {
				continue
			}
			iv := recs[k].Sum
			if k == n-1 {
				for _, r := range recs[n:] {
					iv = joinIntervals(iv, r.Sum)
				}
			}
			ivs = append(ivs, report.StreamInterval{Socket: i + 1, Interval: iv})
		}
		out = append(out, streamRecord(ivs))
	}
	return out
}

// joinIntervals is one stream's consecutive intervals a and b as one.
func joinIntervals(a, b report.Interval) report.Interval {
	j := a
	j.End, j.Seconds = b.End, a.Seconds+b.Seconds
	j.AddCounts(b)
	j.JitterMs = b.JitterMs
	j.LostPercent = seqtrack.Percent(j.LostPackets, j.LostPackets+j.Packets)
	j.BitsPerSecond, j.DatagramsPerSecond = report.Rates(j.Bytes, j.Packets, j.Seconds)
	return j
}

// mergeClientReports sums the streams' reports of a parallel test.
func mergeClientReports(cfg ClientConfig, reps []ClientReport, errs []error) ParallelReport {
	var out ParallelReport
	starts := make([]report.Start, len(reps))
	per := make([][]report.IntervalRecord, len(reps))
	var sent []report.SentSummary
	var recv []report.ReceivedSummary
	var sessions []account.SessionSummary
	for i, r := range reps {
		starts[i], per[i] = r.Start, r.Intervals
		sr := StreamReport{Socket: i + 1, Port: cfg.Port + i, TxCPU: r.Start.Test.TxCPU, SumSent: r.End.SumSent, SumReceived: r.End.SumReceived}
		if errs[i] != nil {
			sr.Error = errs[i].Error()
		}
		out.Parallel = append(out.Parallel, sr)
		sent = append(sent, r.End.SumSent)
		if s := r.End.SumReceived; s != nil {
			recv = append(recv, s.ReceivedSummary)
			sessions = append(sessions, *s)
		}
		out.End.Process.User = max(out.End.Process.User, r.End.Process.User)
		out.End.Process.System = max(out.End.Process.System, r.End.Process.System)
	}
	out.Start = mergeStarts(starts)
	out.Intervals = mergeIntervals(per)
	out.End.SumSent = SumSent(sent)
	if len(sessions) == len(reps) {
		out.End.SumReceived = sumSessions(sessions)
	}
	out.finishIperf()
	out.End.Streams = nil
	for i, r := range reps {
		st := r.End.Streams[0]
		st.UDP.Socket = i + 1
		out.End.Streams = append(out.End.Streams, st)
	}
	return out
}

// sumSessions is the servers' account of every stream: the first
// stream's session id (each stream's own is in parallel_streams), the
// sums, and the largest server CPU use.
func sumSessions(ss []account.SessionSummary) *account.SessionSummary {
	out := ss[0]
	rs := make([]report.ReceivedSummary, len(ss))
	out.SentPackets, out.SentBytes, out.PRBSSeqErrors = 0, 0, 0
	for i, s := range ss {
		rs[i] = s.ReceivedSummary
		out.SentPackets += s.SentPackets
		out.SentBytes += s.SentBytes
		out.PRBSSeqErrors += s.PRBSSeqErrors
		if out.SentRejected == "" {
			out.SentRejected = s.SentRejected
		}
		out.CPU.HostTotal, out.CPU.HostUser, out.CPU.HostSystem = max(out.CPU.HostTotal, s.CPU.HostTotal),
			max(out.CPU.HostUser, s.CPU.HostUser), max(out.CPU.HostSystem, s.CPU.HostSystem)
	}
	out.ReceivedSummary = SumReceived(rs)
	return &out
}

// MergeServerReports sums the reports of servers run at once on
// consecutive ports (udpperf server -P): server i is stream i+1. Each
// server's CPU figures are the whole process's, so the largest is kept.
func MergeServerReports(reps []ServerReport) ServerReport {
	var out ServerReport
	if len(reps) == 0 {
		return out
	}
	starts := make([]report.Start, len(reps))
	per := make([][]report.IntervalRecord, len(reps))
	var recv []report.ReceivedSummary
	for i, r := range reps {
		starts[i], per[i] = r.Start, r.Intervals
		recv = append(recv, r.End.SumReceived)
		out.End.Sessions = append(out.End.Sessions, r.End.Sessions...)
		out.End.Reverse = append(out.End.Reverse, r.End.Reverse...)
		out.End.PingsEchoed += r.End.PingsEchoed
		out.End.Process.User = max(out.End.Process.User, r.End.Process.User)
		out.End.Process.System = max(out.End.Process.System, r.End.Process.System)
		out.End.CPU.HostTotal = max(out.End.CPU.HostTotal, r.End.CPU.HostTotal)
		out.End.CPU.HostUser = max(out.End.CPU.HostUser, r.End.CPU.HostUser)
		out.End.CPU.HostSystem = max(out.End.CPU.HostSystem, r.End.CPU.HostSystem)
		st := r.End.Streams[0]
		st.UDP.Socket = i + 1
		out.End.Streams = append(out.End.Streams, st)
	}
	out.Start = mergeStarts(starts)
	out.Start.Test.Network = reps[0].Start.Test.Network
	out.Intervals = mergeIntervals(per)
	out.End.SumReceived = SumReceived(recv)
	r := out.End.SumReceived
	out.End.Sum = report.UDPSum{
		Start: r.Start, End: r.End, Seconds: r.Seconds, Bytes: r.Bytes, BitsPerSecond: r.BitsPerSecond,
		LostPackets: r.LostPackets, LostPercent: r.LostPercent, Packets: r.Packets + r.LostPackets,
		LossKnown: r.LossKnown,
	}
	for _, s := range reps {
		out.End.Sum.JitterMs += s.End.Sum.JitterMs / float64(len(reps))
	}
	out.End.SumSent = report.SentSummary{Totals: report.Totals{Start: r.Start, End: r.End, Seconds: r.Seconds}, Sender: true}
	return out
}
