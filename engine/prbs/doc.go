// Package prbs generates and checks the pseudo-random test frames of SLAC
// Rogue's rogue.utilities.Prbs, bit for bit, so that a link tested with
// Rogue on one end can be tested with udpstream on the other.
//
// # Frame format
//
// A frame is a sequence of words of width/8 bytes, little-endian; width is a
// multiple of 32 up to 512 (default 32). A frame has at least three words
// and its size is a multiple of the word size.
//
//   - Word 0 is the sequence number, 32 bits zero-padded to the width.
//   - Word 1 is the frame size in words minus one, zero-padded.
//   - Every further word is the previous word (word 0 for word 2) advanced by
//     one step of a linear-feedback shift register: the width-bit word
//     shifts left by one and bit 0 takes the XOR of bits 1, 2, 6 and 31 of
//     the word before the shift.
//
// [Fill] and [Verify] are pure functions on byte slices. [Generator] (a
// Master) and [Checker] (a Slave) wrap them in the stream model with
// Rogue's sequence and error accounting.
//
// # Speed
//
// The feedback only ever reads the low 32 bits, so the low 32 bits of every
// word form one 32-bit LFSR sequence, and limb q (bits 32q..32q+31) of a
// wide word repeats limb q-1 of the word 32 places earlier. Advancing a
// 32-bit LFSR by 32 steps is a linear map, applied with four table
// lookups; the 32 words it spans are then 32-bit windows of one 64-bit
// value. Filling or checking 32-bit words therefore costs about a shift
// and a store (or load) per word; wider words add one memory copy of the
// previous 32 words per 32 words. Neither allocates.
package prbs
