// Package bench measures the engine's UDP endpoints the way iperf3 and
// sockperf measure sockets: throughput, datagram rate, loss, PRBS
// integrity, CPU cost per datagram and round-trip latency, per transport,
// payload and batch size.
//
// [Run] drives one sender ([udp.Client]) and one receiver
// ([udp.Server] with a counting slave) in this process, on loopback or
// across a veth pair between two network namespaces ([Namespaces]), and
// returns a [Result]. [Sweep] runs a list of cases; [Cases] builds the
// cross product of transports, payloads and batch sizes; [Summarize]
// condenses repeated runs of a case. [NDR] searches the no-drop rate with
// [SearchNDR], a trial being a Run at the rate under test. [Serve] and
// [Transmit] are the two halves as separate programs (udpperf server and
// udpperf client), and [Latency] measures ping-pong round trips, or
// round trips under a paced load (LatencyCase.MPS). [WriteTable],
// [WriteSummaryTable], [WriteNDRTable], [WriteLatencyTable], the charts,
// [WriteHistogramLog] and the JSON tags of the result types render the
// figures.
//
// # What is measured
//
// Every data datagram carries its sequence number: the first 8 bytes
// (little-endian) of a plain datagram, or word 0 of a Rogue PRBS frame.
// The receiver counts what arrives and follows the sequence to count gaps
// and late arrivals while the test runs. At the end the sender reports how
// many datagrams it sent (an in-band "end" control message, repeated until
// answered), so loss = sent - received covers the tail too. Datagrams the
// kernel dropped for lack of socket-buffer room (sk_drops, read through
// SO_MEMINFO) and frames dropped by a full receive queue are shown
// separately; they are part of the loss, not added to it. A client's plain datagrams also carry their
// send time after the sequence number, from which the receiver computes
// RFC 3550 jitter, as iperf3 does.
//
// The JSON of client and server follows iperf3's UDP output (-u -J) where
// the concepts match: [IperfStart], [IntervalRecord] with its streams,
// [UDPSum], [CPUUtilization]. [ClientConfig] also runs iperf3's warm-up
// (-O), reverse (-R) and bidirectional (--bidir) tests.
//
// CPU time comes from getrusage: RUSAGE_THREAD on the sender's thread and
// on the receiver's delivery thread (both locked to their OS threads and,
// when at least two CPUs are available, pinned to different CPUs), and
// RUSAGE_SELF for the process.
//
// Control messages start with an 8-byte magic that no sequence number or
// PRBS frame can begin with; cmd/udpperf/README.md describes the format.
package bench
