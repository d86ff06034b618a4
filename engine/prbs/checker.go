package prbs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"udpstream.dev/engine"
)

// Checker is a Slave that checks PRBS frames as Rogue's Prbs receiver does:
// the frame's error field, its size, its size word, its sequence number
// against the previous frame's, and (unless turned off) every payload word.
// Each frame that fails is counted under the first check it fails and not
// checked further.
//
// Sequence rules are Rogue's: after each frame the expected sequence
// becomes the frame's sequence plus one, whether the frame passed or not;
// a frame with sequence 0, or any frame while the expected value is 0,
// restarts the count instead of failing. A lost frame is therefore one
// sequence error, and so is a frame that arrives out of order.
//
// AcceptFrame may run on one goroutine while the getters and setters are
// called on others. It takes no lock and, for frames that pass, does not
// allocate. A frame checked while a setting changes sees each setting as
// it was before or after the change. Sequence checking assumes frames come
// in order from one goroutine at a time; with several concurrent callers
// the counts stay consistent but the sequence verdicts depend on
// interleaving.
type Checker struct {
	pat      atomic.Pointer[pattern]
	noVerify atomic.Bool   // payload checking off
	disabled atomic.Bool   // rx disabled: frames are ignored
	expect   atomic.Uint32 // sequence expected next; 0 accepts any

	frames, bytes           atomic.Uint64
	seqErrors, payloadErrs  atomic.Uint64
	sizeErrors, frameErrors atomic.Uint64
	ignored                 atomic.Uint64

	first atomic.Pointer[failure]
	rates rateMeter
	mu    sync.Mutex // serialises SetWidth, SetTaps and SetRxEnable
}

type failure struct{ err error }

// CheckerStats is a snapshot of a Checker's counters. Frames and Bytes
// count the frames that passed every check (Rogue's rx count and bytes);
// every other frame is counted once, in one of the error counters or, if
// receiving was off, in Ignored.
type CheckerStats struct {
	Frames, Bytes uint64
	SeqErrors     uint64 // sequence number not the expected one
	PayloadErrors uint64 // an LFSR word (or word 0's padding) is wrong
	SizeErrors    uint64 // size not a whole number of >= 3 words, or word 1 disagrees
	FrameErrors   uint64 // the frame's error field was set, or it was already released

	// Ignored counts the frames handed in while receiving was disabled
	// (SetRxEnable(false)); they are in no other counter.
	Ignored uint64
}

// Errors is the total of the error counters: Rogue's rx error count.
func (s CheckerStats) Errors() uint64 {
	return s.SeqErrors + s.PayloadErrors + s.SizeErrors + s.FrameErrors
}

// NewChecker returns a checker of width-bit words: a multiple of 32 from 32
// to MaxWidth, or 0 for DefaultWidth. It uses DefaultTaps; payload
// checking and receiving are on.
func NewChecker(width int) (*Checker, error) {
	p, err := defaultPattern(width)
	if err != nil {
		return nil, err
	}
	c := &Checker{rates: newRateMeter()}
	c.pat.Store(p)
	return c, nil
}

// SetWidth sets the word width in bits (Rogue's setWidth): a multiple of 32
// from 32 to MaxWidth, or 0 for DefaultWidth. It fails, changing nothing,
// if a tap lies outside the new width.
func (c *Checker) SetWidth(width int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := c.pat.Load().withWidth(width)
	if err != nil {
		return err
	}
	c.pat.Store(p)
	return nil
}

// Width is the word width in bits.
func (c *Checker) Width() int { return 8 * c.pat.Load().wb }

// SetTaps sets the LFSR feedback bits (Rogue's setTaps); see
// Generator.SetTaps. The checker's taps must be the generator's.
func (c *Checker) SetTaps(taps []int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := c.pat.Load().withTaps(taps)
	if err != nil {
		return err
	}
	c.pat.Store(p)
	return nil
}

// Taps returns the feedback bits, in ascending order.
func (c *Checker) Taps() []int { return slices.Clone(c.pat.Load().taps) }

// SetRxEnable turns receiving on (the default) or off (Rogue's
// setRxEnable). Off, AcceptFrame returns at once and counts the frame in
// Stats.Ignored only: it is not checked, and its sequence is not noted, so
// the first frame after receiving is turned back on starts a new count
// instead of being a sequence error. Rogue instead holds each frame in
// AcceptFrame, polling every 10 ms, until receiving is on again: that
// stalls whatever sends to it (a UDP receive loop, say) and keeps it from
// stopping for as long as receiving stays off.
func (c *Checker) SetRxEnable(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on && c.disabled.Load() {
		c.expect.Store(0)
	}
	c.disabled.Store(!on)
}

// RxEnable reports whether receiving is on.
func (c *Checker) RxEnable() bool { return !c.disabled.Load() }

// SetCheckPayload turns payload checking on (the default) or off. Off, only
// the error field, size, size word and sequence are checked, which is
// cheaper when only loss is of interest.
func (c *Checker) SetCheckPayload(on bool) { c.noVerify.Store(!on) }

// Stats returns the counters. Each is read atomically, but not all at the
// same instant.
func (c *Checker) Stats() CheckerStats {
	return CheckerStats{
		Frames:        c.frames.Load(),
		Bytes:         c.bytes.Load(),
		SeqErrors:     c.seqErrors.Load(),
		PayloadErrors: c.payloadErrs.Load(),
		SizeErrors:    c.sizeErrors.Load(),
		FrameErrors:   c.frameErrors.Load(),
		Ignored:       c.ignored.Load(),
	}
}

// RxCount is the number of frames that passed every check (Rogue's
// getRxCount): Stats().Frames.
func (c *Checker) RxCount() uint64 { return c.frames.Load() }

// RxBytes is the number of bytes in the frames RxCount counts.
func (c *Checker) RxBytes() uint64 { return c.bytes.Load() }

// RxErrors is the number of frames that failed a check (Rogue's
// getRxErrors): Stats().Errors().
func (c *Checker) RxErrors() uint64 { return c.Stats().Errors() }

// RxRate is the rate, in frames per second, of the frames RxCount counts,
// and RxBw that of their bytes, in bytes per second; see
// Generator.TxRate for when they are recomputed.
func (c *Checker) RxRate() float64 {
	r, _ := c.rates.read(&c.frames, &c.bytes)
	return r
}

// RxBw is bytes per second; see RxRate.
func (c *Checker) RxBw() float64 {
	_, bw := c.rates.read(&c.frames, &c.bytes)
	return bw
}

// ResetCount zeroes every counter and the rates and forgets the first
// error (Rogue's resetCount). The expected sequence is kept. Frames being
// checked meanwhile may be counted before or after the reset.
func (c *Checker) ResetCount() {
	c.rates.reset(func() {
		for _, n := range []*atomic.Uint64{&c.frames, &c.bytes, &c.seqErrors,
			&c.payloadErrs, &c.sizeErrors, &c.frameErrors, &c.ignored} {
			n.Store(0)
		}
		c.first.Store(nil)
	})
}

// FirstError describes the first frame that failed, or is nil if none has.
func (c *Checker) FirstError() error {
	if f := c.first.Load(); f != nil {
		return f.err
	}
	return nil
}

// AcceptFrame checks f and counts the outcome. It implements engine.Slave.
func (c *Checker) AcceptFrame(f engine.Frame) {
	if c.disabled.Load() {
		c.ignored.Add(1)
		return
	}
	p := c.pat.Load()
	data, err := f.Bytes()
	contiguous := err == nil
	if !contiguous && !errors.Is(err, engine.ErrNotContiguous) {
		c.fail(&c.frameErrors, func() error { return fmt.Errorf("prbs: frame unusable: %w", err) })
		return
	}
	if code := f.Error(); code != 0 {
		c.fail(&c.frameErrors, func() error { return fmt.Errorf("prbs: frame error field is %#x", code) })
		return
	}
	wb, size := p.wb, len(data)
	if !contiguous {
		size = f.Payload()
	}
	if err := checkSize(size, wb); err != nil {
		c.fail(&c.sizeErrors, func() error { return err })
		return
	}

	var hdr [2 * MaxWidth / 8]byte
	head, err := frameHead(f, data, contiguous, hdr[:2*wb])
	if err != nil {
		c.fail(&c.frameErrors, func() error { return fmt.Errorf("prbs: reading the header: %w", err) })
		return
	}
	seq := binary.LittleEndian.Uint32(head)
	exp := c.expect.Swap(seq + 1)
	if err := checkCount(head[wb:], size, wb); err != nil {
		c.fail(&c.sizeErrors, func() error { return fmt.Errorf("sequence %d: %w", seq, err) })
		return
	}
	if seq != 0 && exp != 0 && seq != exp {
		c.fail(&c.seqErrors, func() error { return fmt.Errorf("prbs: sequence %d, expected %d", seq, exp) })
		return
	}

	if !c.noVerify.Load() {
		var err error
		if contiguous {
			err = verifyRest(data, p)
		} else {
			err = verifySplit(f, head, size, p)
		}
		if err != nil {
			c.failPayload(seq, err)
			return
		}
	}
	c.frames.Add(1)
	c.bytes.Add(uint64(size))
}

// frameHead returns words 0 and 1 of f: straight from data when the frame
// is contiguous, else copied into buf, which holds exactly the two words.
func frameHead(f engine.Frame, data []byte, contiguous bool, buf []byte) ([]byte, error) {
	if contiguous {
		return data, nil
	}
	_, err := f.ReadAt(buf, 0)
	return buf, err
}

// failPayload counts a frame whose words after the header, or their
// padding, are wrong.
func (c *Checker) failPayload(seq uint32, err error) {
	counter := &c.payloadErrs
	if errors.Is(err, ErrSize) {
		counter = &c.sizeErrors
	}
	c.fail(counter, func() error { return fmt.Errorf("sequence %d: %w", seq, err) })
}

// fail counts a failed frame and, if it is the first, keeps its
// description. describe runs only for the first failure, so later ones
// cost no allocation.
func (c *Checker) fail(counter *atomic.Uint64, describe func() error) {
	counter.Add(1)
	if c.first.Load() == nil {
		c.first.CompareAndSwap(nil, &failure{describe()})
	}
}

// verifySplit is verifyRest for a frame spread over several buffers: each
// chunk is read into one stack buffer and compared with the expected chunk
// built in another.
func verifySplit(f engine.Frame, head []byte, size int, p *pattern) error {
	wb := p.wb
	if wb > 4 {
		if err := checkPadding(head, wb); err != nil {
			return err
		}
	}
	if vecWidth(p) {
		return verifySplitVec(f, head, size, p)
	}
	var got, want [maxChunkBytes]byte
	c := newChunker(binary.LittleEndian.Uint32(head), p)
	chunk := chunkWords * wb
	for off := 2 * wb; off < size; off += chunk {
		n := min(size-off, chunk)
		c.next(want[:], n)
		if _, err := f.ReadAt(got[:n], int64(off)); err != nil {
			return fmt.Errorf("%w: reading word %d: %v", ErrPayload, off/wb, err)
		}
		if !bytes.Equal(got[:n], want[:n]) {
			return mismatch(got[:n], want[:n], off/wb, wb)
		}
	}
	return nil
}

// verifySplitVec is verifySplit on the vector paths: each chunk read is
// checked from the last word of the one before.
func verifySplitVec(f engine.Frame, head []byte, size int, p *pattern) error {
	wb := p.wb
	var got [maxChunkBytes]byte
	var last [MaxWidth / 8]byte
	prev := last[:wb]
	copy(prev, head)
	chunk := chunkWords * wb
	for off := 2 * wb; off < size; off += chunk {
		n := min(size-off, chunk)
		if _, err := f.ReadAt(got[:n], int64(off)); err != nil {
			return fmt.Errorf("%w: reading word %d: %v", ErrPayload, off/wb, err)
		}
		if err := checkAfter(got[:n], prev, off/wb, p); err != nil {
			return err
		}
		copy(prev, got[n-wb:n])
	}
	return nil
}
