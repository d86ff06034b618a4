// Package iperf3 speaks the control and UDP data protocol of iperf3 (as of
// release 3.12), so that udpperf and a real iperf3 work together in both
// directions: a [Server] serves iperf3 clients (and udpperf clients), a
// [Client] drives an iperf3 server (or a udpperf one).
//
// The control connection is TCP: a 37-byte cookie, one-byte states, and
// parameters and results as JSON behind a 32-bit big-endian length. Each
// UDP stream starts with a 4-byte connect datagram and its reply; data
// datagrams carry the sender's clock and a 32- or 64-bit counter
// ([PutHeader], [ParseHeader]).
//
// What udpperf adds over iperf3 travels as extra JSON keys that an iperf3
// peer ignores ([Extras]): GSO batches on the sending side, and the
// receiver's per-cause drop counters in the results.
//
// Every datagram that reaches a server's data socket lands in exactly one
// counter of [PortCounters]: data of a stream the control connection
// accepted, a connect handshake (control), a datagram from an address no
// test knows (foreign), one too short for its stream's header (malformed),
// or data that arrived after its test ended (late). Loss is computed only
// for accepted streams.
package iperf3
