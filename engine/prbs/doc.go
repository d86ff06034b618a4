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
//     shifts left by one and bit 0 takes the XOR of the tap bits of the
//     word before the shift, bits 1, 2, 6 and 31 ([DefaultTaps]) unless
//     set otherwise.
//
// [Fill] and [Verify] are pure functions on byte slices, with the default
// taps. [Generator] (a Master) and [Checker] (a Slave) wrap them in the
// stream model with Rogue's sequence and error accounting; together they
// are Rogue's Prbs, which is one object that is both.
//
// # Settings
//
// Both halves take Rogue's settings, which may change while frames flow:
// the word width (SetWidth) and the taps (SetTaps), which must be the
// same at both ends. The generator can write only words 0 and 1
// (SetGenPayload(false)) or payload words that hold their own index
// (SetSendCount(true)); the checker can check only words 0 and 1
// (SetCheckPayload(false)) and can be turned off (SetRxEnable(false)),
// when it counts the frames it is handed as ignored and looks at nothing
// else.
//
// # Background generation
//
// Generator.Enable(size) starts a goroutine that sends a frame of size
// bytes once per period (SetTxPeriod, in microseconds; 0 sends back to
// back), counting the frames it cannot send in TxErrors. Disable or Close
// stops it and waits for it. Disable must not be called from a slave of
// the same generator, whose AcceptFrame runs on that goroutine.
//
// # Counters and rates
//
// The generator counts frames, bytes and failures (TxCount, TxBytes,
// TxErrors), the checker frames and bytes that passed and frames that
// failed (RxCount, RxBytes, RxErrors, and Stats by kind); ResetCount
// zeroes them. TxRate, TxBw, RxRate and RxBw are frames and bytes per
// second over the time since they were last recomputed, which reading
// them does at most once a second.
//
// # Speed
//
// With every tap in the low 32 bits, as the default taps are, the
// feedback only ever reads the low 32 bits, so the low 32 bits of every
// word form one 32-bit LFSR sequence, and limb q (bits 32q..32q+31) of a
// wide word repeats limb q-1 of the word 32 places earlier. Advancing a
// 32-bit LFSR by 32 steps is a linear map, applied with four table
// lookups, and the 32 words it spans (a chunk) follow from the word just
// before them: limb q of word i of the chunk is (A_q << i) | (B_q >>
// (32-i)), A the word before the chunk and B its last word, which is A
// moved up one limb with the jumped limb 0 at the bottom. A checker takes
// A from the frame itself, so the chunks of a frame are independent.
//
// On amd64 CPUs with AVX2, widths 32, 64, 128, 256 and 512 are filled and
// checked this way eight 32-bit lanes at a time, a few vector
// instructions per 32 bytes; a check compares whole chunks and names the
// first bad word only once a chunk differs, with the same message as the
// portable code. Elsewhere, and for the other widths, the portable code
// costs about a shift and a store (or load) per 32-bit limb. Neither
// allocates. A tap above bit 31 (with words wider than 32 bits) breaks
// this structure: such a pattern is generated and checked a word at a
// time, each step shifting the whole word.
package prbs
