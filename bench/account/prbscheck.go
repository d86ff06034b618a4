package account

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"udpstream.dev/bench/report"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// prbsWordBytes is the size of one PRBS word of udpperf's frames.
const prbsWordBytes = report.PRBSWidth / 8

// prbsCheck applies the rules of Rogue's PRBS checker (prbs.Checker) to
// the data datagrams of one delivery goroutine: the frame's error field,
// its size and size word, the sequence verdict (a frame whose sequence
// number is neither 0 nor the one expected), and every LFSR word. Unlike
// prbs.Checker, which may be shared and so counts every frame with atomic
// operations, it keeps the expected sequence in a plain field and touches
// its atomic counters only when a frame fails: a passing frame costs the
// payload check and a few comparisons. Unlike Rogue's checker it also
// checks the payload of a frame that failed the sequence verdict (after a
// gap), so that no frame goes unchecked.
type prbsCheck struct {
	expect uint32 // delivery goroutine only; 0 = no expectation

	// Failure counts, in frames, read from any goroutine.
	seqErrors   atomic.Uint64 // sequence verdicts: loss and reordering, not corruption
	payloadErrs atomic.Uint64 // an LFSR word differs
	sizeErrors  atomic.Uint64 // size not whole words, or size word wrong
	frameErrors atomic.Uint64 // error field set, or the frame unreadable
	gapErrors   atomic.Uint64 // payload failures of frames after a gap

	firstIntegrity atomic.Pointer[checkFailure] // first payload, size or gap failure
	firstAny       atomic.Pointer[checkFailure] // first failure of any kind

	scratch []byte // a split frame, gathered
}

type checkFailure struct{ err error }

// prbsVerdict is what check found, for the sequence tracker's trust in the
// frame's word 0 (see Receiver.checkPRBS).
type prbsVerdict uint8

const (
	prbsPassed   prbsVerdict = iota // every check passed
	prbsGapSound                    // sequence verdict only: the payload is sound
	prbsGapBad                      // sequence verdict and a bad payload
	prbsCorrupt                     // in sequence, bad payload
	prbsBroken                      // error field, size or an unreadable frame
)

// errors counts the integrity failures: everything but the sequence
// verdicts, which are loss and reordering and reported as such.
func (c *prbsCheck) errors() uint64 {
	return c.payloadErrs.Load() + c.sizeErrors.Load() + c.frameErrors.Load() + c.gapErrors.Load()
}

// firstError describes the first integrity failure or, when there was
// none, the first failure of any kind; "" when nothing failed.
func (c *prbsCheck) firstError() string {
	if f := c.firstIntegrity.Load(); f != nil {
		return f.err.Error()
	}
	if f := c.firstAny.Load(); f != nil {
		return fmt.Sprintf("see counters; first failure of any kind: %v", f.err)
	}
	return ""
}

// fail counts a failed frame and keeps the first description. describe
// runs only for the first failure of its kind, so later ones do not
// allocate.
func (c *prbsCheck) fail(counter *atomic.Uint64, integrity bool, describe func() error) {
	counter.Add(1)
	if c.firstAny.Load() != nil && (!integrity || c.firstIntegrity.Load() != nil) {
		return
	}
	f := &checkFailure{describe()}
	c.firstAny.CompareAndSwap(nil, f)
	if integrity {
		c.firstIntegrity.CompareAndSwap(nil, f)
	}
}

// check checks one data datagram. data is the frame's bytes, or nil when
// the frame is split over several buffers (it is then gathered into
// scratch). It returns the frame's bytes (gathered or not; nil when they
// could not be read) and its sequence word.
func (c *prbsCheck) check(f engine.Frame, data []byte) (body []byte, seq uint32, v prbsVerdict) {
	if code := f.Error(); code != 0 {
		c.fail(&c.frameErrors, false, func() error { return fmt.Errorf("prbs: frame error field is %#x", code) })
		return data, 0, prbsBroken
	}
	if data == nil {
		var err error
		if data, err = c.gather(f); err != nil {
			c.fail(&c.frameErrors, false, func() error { return fmt.Errorf("prbs: reading the frame: %w", err) })
			return nil, 0, prbsBroken
		}
	}
	if size := len(data); size%prbsWordBytes != 0 || size < 3*prbsWordBytes {
		c.fail(&c.sizeErrors, true, func() error {
			return fmt.Errorf("%w: %d bytes is not a whole number of at least 3 words of %d bytes", prbs.ErrSize, size, prbsWordBytes)
		})
		return data, 0, prbsBroken
	}
	seq = binary.LittleEndian.Uint32(data)
	exp := c.expect
	c.expect = seq + 1
	_, err := prbs.Verify(data, report.PRBSWidth)
	if err != nil && errors.Is(err, prbs.ErrSize) {
		c.fail(&c.sizeErrors, true, func() error { return fmt.Errorf("sequence %d: %w", seq, err) })
		return data, seq, prbsBroken
	}
	if seq != 0 && exp != 0 && seq != exp {
		c.fail(&c.seqErrors, false, func() error { return fmt.Errorf("prbs: sequence %d, expected %d", seq, exp) })
		if err != nil {
			c.fail(&c.gapErrors, true, func() error { return fmt.Errorf("sequence %d, after a gap: %w", seq, err) })
			return data, seq, prbsGapBad
		}
		return data, seq, prbsGapSound
	}
	if err != nil {
		c.fail(&c.payloadErrs, true, func() error { return fmt.Errorf("sequence %d: %w", seq, err) })
		return data, seq, prbsCorrupt
	}
	return data, seq, prbsPassed
}

// gather copies a split frame into scratch (this happens only with
// AF_XDP jumbo frames, whose chunks are smaller than a datagram).
func (c *prbsCheck) gather(f engine.Frame) ([]byte, error) {
	n := f.Payload()
	if cap(c.scratch) < n {
		c.scratch = make([]byte, n)
	}
	k, err := f.ReadAt(c.scratch[:n], 0)
	if err != nil && k < n {
		return nil, err
	}
	return c.scratch[:n], nil
}
