// Package srp is SLAC's SRPv3 register protocol, both sides, byte-exact
// with Rogue's protocols.srp.SrpV3 (the host) and SrpV3Emulation (the
// device), on the engine's stream model.
//
// A Host is a memory.Slave: put a memory.Master (or a Hub) in front of it
// and connect it both ways to a stream transport, Rogue's
//
//	host >> transport; transport >> host
//
// which is engine.Connect(host, t) and engine.Connect(t, host). Each
// transaction becomes one request frame; a response frame completes the
// transaction it answers, matched by id, in any order. A Device serves
// request frames from any memory.Slave (an Emulate, a Hub, another host)
// and sends the responses to its own stream slaves.
//
// # Frame
//
// Five little-endian 32-bit words: word 0 = version 3 (bits 7:0), opcode
// (9:8: read, write, posted write, null), ignore-response (14) and the
// hardware timeout (31:24); the id; the address low and high words; the
// size minus one. A write carries its data after the header. A response
// echoes the header, then carries the data (a write's echoed) and a
// status footer: 0 is success, bit 13 a bus lockup, bit 8 a bus timeout.
//
// # Errors and counters
//
// Every transaction ends exactly once, with nil or a *memory.TxError
// whose text is Rogue's and whose class matches a sentinel through
// errors.Is: memory.ErrUnaligned and memory.ErrSize (refused before a
// frame), ErrProtocol, ErrSizeMismatch, ErrBusTimeout, ErrBusLockup and
// ErrBusStatus (all also ErrBus), memory.ErrTimeout (no answer in time),
// memory.ErrClosed, ErrSend. Every frame received is counted once in
// HostStats or DeviceStats, by what became of it.
package srp
