// Package report holds what a benchmark run is and what it returned: the
// test case ([Case], [Rate]), the result records ([Result], [TestInfo],
// [SentSummary], [ReceivedSummary], [Interval], [IntervalRecord]) and
// their JSON shape, which follows iperf3's UDP output (-u -J) where the
// concepts match ([IperfStart], [UDPSum], [CPUUtilization]).
//
// It also renders them: one-line summaries and interval lines
// ([FormatInterval], [FormatSent], [FormatReceived]), the results table
// ([WriteTable]) and the bar chart of a sweep ([WriteChart]), with the
// machine and build in its caption.
//
// It sits below the experiment drivers of package bench and knows no
// sockets: the drivers fill these records, cmd/udpperf prints them.
package report
