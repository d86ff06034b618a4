// Package engine is the stream model of udpstream: frames of pooled
// buffers flowing from masters to slaves (Rogue's
// rogue.interfaces.stream). The UDP Server and Client built on it are in
// engine/udp; the PRBS generator and checker in engine/prbs.
//
// The model is that of SLAC's Rogue (rogue.interfaces.stream) with Go names:
//
//   - A [Frame] is an ordered list of buffers plus metadata (channel, error,
//     flags). It is a small handle value; copying it does not copy data.
//   - A [Pool] hands out frames made of fixed-size buffers carved from large
//     contiguous slabs, and takes the buffers back when frames are released.
//   - A [Master] emits frames to its slaves; the first slave attached is the
//     primary, whose allocator serves [Master.ReqFrame] and which receives
//     each frame last.
//   - A [Slave] accepts frames; an [Allocator] also serves frame requests.
//   - [Connect] is Rogue's `master >> slave`.
//
// Ownership: whoever obtains a frame holds one reference and calls
// [Frame.Release] once. [Master.SendFrame] lends the frame to each slave for
// the duration of AcceptFrame; a slave that keeps it longer calls
// [Frame.Retain] first. After the last release the buffers go back to their
// pool and every stale copy of the handle reports [ErrReleased].
package engine
