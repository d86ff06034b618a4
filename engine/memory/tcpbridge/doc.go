// Package tcpbridge is Rogue's memory TCP bridge
// (rogue.interfaces.memory TcpServer and TcpClient), wire-compatible: a Go
// process serves its memory tree to pyrogue, or reaches a remote one.
//
// The transport is ZeroMQ (ZMTP 3, NULL mechanism, in-tree in
// engine/internal/zmtp) with two one-way sockets: the server binds PULL on
// port P (requests) and PUSH on P+1 (responses); the client connects PUSH
// to P and PULL to P+1. Integers are little-endian.
//
//	request:  id u32, address u64, size u32, type u32 [, data for Write and Post]
//	response: id, address, size, type (echoed), data, result ("OK" or the error text)
//
// The server drops malformed requests without an answer (counted in
// Stats.RxMalformed) and serves one request at a time; the probe type
// (memory.Probe, size 0) is answered without touching memory. The client
// completes a posted write once it is sent, checks that a response echoes
// its request, and turns a result other than "OK" into an error of class
// ErrRemote carrying the server's text.
package tcpbridge
