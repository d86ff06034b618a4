// Package iperf3 speaks the control and UDP data protocol of iperf3 (as of
// release 3.12), so that udpperf and a real iperf3 work together in both
// directions: a [Server] serves iperf3 clients (and udpperf clients), [Run]
// drives an iperf3 server (or a udpperf one). [Serve] and [RunAndPrint]
// add iperf3's text output and JSON documents for a command line.
//
// The control connection is TCP: a 37-byte cookie, one-byte states, and
// parameters and results as JSON behind a 32-bit big-endian length. Each
// UDP stream starts with a 4-byte connect datagram and its reply; data
// datagrams carry the sender's clock and a 32- or 64-bit counter
// ([PutHeader], [ParseHeader]).
//
// A Server runs several tests at once on one port: one TCP listener and
// one UDP data socket, whose datagrams are told apart by the client's
// address; sessions take turns to accept their streams. Every datagram
// that reaches the data socket lands in exactly one counter of
// [PortCounters]: data of a stream the control connection accepted, a
// connect handshake (control), a datagram from an address no test knows
// (foreign), one too short for its stream's header (malformed), data
// outside its test's running time (outside), or one too long for the
// buffer (truncated). Loss is reported only for streams whose sent count
// the client vouched for in its results.
//
// What udpperf adds over iperf3 travels as extra JSON keys that an iperf3
// peer ignores ([Extras], [StreamExtras], [ResultsExtras]): the sender's
// transport and the receiver's own counts and kernel drops. Data moves in
// batches through the engine's socket layer (package mmsg: recvmmsg with
// UDP GRO, sendmmsg with UDP GSO), or for a client's sending streams with
// [ClientConfig].Engine through the engine's udp.Client.
package iperf3
