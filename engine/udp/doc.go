// Package udp is the UDP transport of the stream model (Rogue's
// rogue.protocols.udp): a [Server] bound to a port and a [Client] sending
// to a host, both Masters of the datagrams they receive and Slaves of the
// frames they transmit, one datagram per frame.
//
// Each endpoint has its own transmit pool of MaxPayload buffers:
// AcceptReq and ReqFrame both draw from it, and AllocCount and AllocBytes
// count what it has lent. Received frames come from receive pools the
// endpoint keeps to itself.
//
// The data path is chosen with [WithTransport]: one datagram per system
// call, recvmmsg/sendmmsg batches (the default), UDP GRO/GSO, or AF_XDP
// with [WithXDP]. [Stats] counts what each path did and dropped.
package udp
