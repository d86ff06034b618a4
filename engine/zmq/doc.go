// Package zmq is Rogue's stream TCP bridge (rogue.interfaces.stream
// TcpServer and TcpClient) for the engine's stream model, wire-compatible
// with Rogue's: a Rogue host and a Go program exchange frames through it
// in either direction.
//
// # Wire format
//
// The bridge speaks ZeroMQ (ZMTP 3.x over TCP, NULL mechanism) with two
// one-way sockets on ports P and P+1:
//
//	socket  server          client              carries
//	PULL    binds P         -                   client -> server
//	PUSH    binds P+1       -                   server -> client
//	PULL    -               connects to P+1     server -> client
//	PUSH    -               connects to P       client -> server
//
// One frame is one multipart message of exactly four parts: the frame's
// flags (2 bytes, little-endian: firstUser then lastUser), its channel (1
// byte), its error (1 byte) and its payload (all of it, in order).
// Received messages of any other shape are counted in
// Stats.RxMalformed, logged through WithLogger's logger and dropped; the
// connection carries on. A zero-length payload is a valid frame here,
// both ways (a Rogue receiver cannot take one).
//
// # Why ZMTP is implemented here
//
// The bridge needs a small part of ZeroMQ: the greeting, the NULL
// mechanism's READY command with the PUSH and PULL socket types, data
// frames with the MORE and LONG flags, and PING/PONG. Doing that in-tree
// (engine/internal/zmtp, shared with the memory bridge), in pure Go,
// keeps the build free of cgo and of libzmq (which github.com/pebbe/zmq4
// needs), and gives control over every allocation
// and every write: a frame goes out as one writev of its header block and
// its payload buffers, with no per-frame allocation and no copy, and a
// received payload is copied once, into a frame from the bridge's pool.
// github.com/go-zeromq/zmq4 is pure Go but is no longer maintained and
// writes the parts of a message separately. Interoperation with libzmq is
// tested against pyzmq.
//
// The package is named for its wire protocol rather than "tcp": what it
// carries is ZeroMQ, not a raw TCP stream, and zmq.NewTcpServer and
// zmq.NewTcpClient keep Rogue's class names without repeating them.
//
// # Differences from Rogue
//
// Rogue's sends block until a peer takes the frame, and its stop() can
// hang behind such a send; here WithSendTimeout chooses between waiting
// (bounded, by default one second) and dropping, every drop is counted in
// Stats, and Close always returns. libzmq queues up to 1000 messages per
// socket; here the only queue is the kernel's socket buffer, so a slow
// peer holds back the sender sooner.
package zmq
