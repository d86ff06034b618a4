// Package bench drives the engine's UDP endpoints the way iperf3 and
// sockperf drive sockets, and measures throughput, datagram rate, loss,
// PRBS integrity, CPU cost per datagram and round-trip latency, per
// transport, payload and batch size.
//
// [Run] drives one sender ([udp.Client] fed by a [traffic.Sender]) and one
// receiver ([udp.Server] with an [account.Receiver]) in this process, on
// loopback or across a veth pair between two network namespaces
// ([netns.Namespaces]), and returns a [report.Result]. [Sweep] runs a list
// of cases ([report.Cases] builds them). [Serve] and [Transmit] are the
// two halves as separate programs (udpperf server and udpperf client),
// with iperf3's reverse, bidirectional and parallel tests
// ([TransmitParallel], [ServeParallel]); [ServeBridge] receives through
// Rogue's TCP bridge. [Latency] measures ping-pong round trips, or round
// trips under a paced load (LatencyCase.MPS), and [WriteLatencyTable] and
// [WriteHistogramLog] render them.
//
// The packages below it each hold one concern: report (the case, the
// result records, their iperf3-style JSON, text tables and the sweep
// chart), traffic (the batch sender), account (receive-side counting,
// sequence following, jitter, intervals), wire (udpperf's control
// messages) and netns (the namespaces). Package experiment, above it,
// searches the no-drop rate and condenses repeated runs.
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
// the concepts match: [report.IperfStart], [report.IntervalRecord] with its
// streams, [report.UDPSum], [report.CPUUtilization]. [ClientConfig] also
// runs iperf3's warm-up (-O), reverse (-R) and bidirectional (--bidir)
// tests.
//
// CPU time comes from getrusage: RUSAGE_THREAD on the sender's thread and
// on the receiver's delivery thread (both locked to their OS threads and,
// when at least two CPUs are available, pinned to different CPUs), and
// RUSAGE_SELF for the process.
//
// Control messages start with an 8-byte magic that no sequence number or
// PRBS frame can begin with; cmd/udpperf/README.md describes the format.
package bench
