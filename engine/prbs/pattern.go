package prbs

import (
	"errors"
	"fmt"
	"slices"
)

// ErrTaps is returned for a tap list that is empty, repeats a tap, or names
// a bit outside the word.
var ErrTaps = errors.New("prbs: bad taps")

// DefaultTaps are the feedback bits of Rogue's LFSR unless told otherwise.
var DefaultTaps = []int{1, 2, 6, 31}

// pattern is everything the LFSR of a frame depends on: the word size and
// the taps. It is immutable once built, so the hot paths read it through
// one atomic pointer per frame.
type pattern struct {
	wb   int
	taps []int            // sorted
	mask [maxLimbs]uint32 // tap bits, limb by limb
	jt   *jumpTable       // nil when a tap lies above bit 31
}

// defaultPatterns holds the pattern of the default taps for each width,
// indexed by the word size in limbs minus one, so that Fill and Verify
// need no allocation.
var defaultPatterns = func() (ps [maxLimbs]pattern) {
	for i := range ps {
		ps[i] = pattern{wb: 4 * (i + 1), taps: DefaultTaps, jt: defaultJump}
		ps[i].mask[0] = defaultMask
	}
	return ps
}()

// defaultPattern validates width (0 = DefaultWidth) and returns the
// pattern of the default taps for it.
func defaultPattern(width int) (*pattern, error) {
	if width == 0 {
		width = DefaultWidth
	}
	if width&31 != 0 || uint(width-32) > MaxWidth-32 {
		return nil, widthError(width) // as wordBytes reports it
	}
	return &defaultPatterns[width/32-1], nil
}

// newPattern returns the pattern of wb-byte words and the given taps,
// sharing the default jump table when the taps are the default ones.
func newPattern(wb int, taps []int) (*pattern, error) {
	if len(taps) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrTaps)
	}
	p := &pattern{wb: wb, taps: slices.Clone(taps)}
	slices.Sort(p.taps)
	for i, t := range p.taps {
		if t < 0 || t >= 8*wb {
			return nil, fmt.Errorf("%w: tap %d is not a bit of a %d-bit word", ErrTaps, t, 8*wb)
		}
		if i > 0 && p.taps[i-1] == t {
			return nil, fmt.Errorf("%w: tap %d given twice", ErrTaps, t)
		}
		p.mask[t/32] |= 1 << (t % 32)
	}
	if p.taps[len(p.taps)-1] >= 32 {
		return p, nil // the word-at-a-time path
	}
	if p.mask[0] == defaultMask {
		p.jt = defaultJump
	} else {
		p.jt = buildJumpTable(p.mask[0])
	}
	return p, nil
}

// withWidth returns p for width-bit words (0 = DefaultWidth).
func (p *pattern) withWidth(width int) (*pattern, error) {
	wb, err := wordBytes(width)
	if err != nil {
		return nil, err
	}
	return newPattern(wb, p.taps)
}

// withTaps returns p with other taps.
func (p *pattern) withTaps(taps []int) (*pattern, error) {
	return newPattern(p.wb, taps)
}
