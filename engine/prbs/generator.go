package prbs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"udpstream.dev/engine"
)

// Generator is a Master that emits PRBS frames with consecutive sequence
// numbers, starting at 0: the transmit half of Rogue's Prbs.
//
// Its methods may be called from several goroutines; each frame then gets
// its own sequence number, in the order the calls take them. Settings
// (width, taps, payload switches, period) may change while frames are
// generated; each frame uses the settings it found when it started.
type Generator struct {
	engine.Master

	pat       atomic.Pointer[pattern]
	noPayload atomic.Bool // genPayload(false): header words only
	sendCount atomic.Bool // payload word i holds i instead of the LFSR

	seq                         atomic.Uint32
	txFrames, txBytes, txErrors atomic.Uint64
	rates                       rateMeter

	mu     sync.Mutex  // serialises settings, Enable, Disable and Close
	bg     *background // the running background generator, or nil
	closed bool
	period atomic.Uint32 // background period in microseconds
}

// NewGenerator returns a generator of width-bit words: a multiple of 32
// from 32 to MaxWidth, or 0 for DefaultWidth. It uses DefaultTaps and
// generates the payload.
func NewGenerator(width int) (*Generator, error) {
	p, err := defaultPattern(width)
	if err != nil {
		return nil, err
	}
	g := &Generator{rates: newRateMeter()}
	g.pat.Store(p)
	return g, nil
}

// SetWidth sets the word width in bits (Rogue's setWidth): a multiple of 32
// from 32 to MaxWidth, or 0 for DefaultWidth. It fails, changing nothing,
// if a tap lies outside the new width or the background generator runs
// with a frame size that is not a valid frame of the new width.
func (g *Generator) SetWidth(width int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, err := g.pat.Load().withWidth(width)
	if err != nil {
		return err
	}
	if g.bg != nil {
		if err := checkSize(g.bg.size, p.wb); err != nil {
			return fmt.Errorf("prbs: background generator running: %w", err)
		}
	}
	g.pat.Store(p)
	return nil
}

// Width is the word width in bits.
func (g *Generator) Width() int { return 8 * g.pat.Load().wb }

// SetTaps sets the LFSR feedback bits (Rogue's setTaps): each a bit number
// of the word, from 0 to width-1, none twice, at least one. The order does
// not matter. It fails with ErrTaps, changing nothing, otherwise. Taps
// above bit 31 (possible with wider words) make generation and checking
// slower: a word at a time instead of 32.
func (g *Generator) SetTaps(taps []int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, err := g.pat.Load().withTaps(taps)
	if err != nil {
		return err
	}
	g.pat.Store(p)
	return nil
}

// Taps returns the feedback bits, in ascending order.
func (g *Generator) Taps() []int { return slices.Clone(g.pat.Load().taps) }

// SetGenPayload turns payload generation on (the default) or off (Rogue's
// genPayload). Off, only words 0 and 1 are written: the payload bytes keep
// whatever the frame's buffers held (zeros in new buffers), which is
// faster when only the link's throughput or loss is of interest. Such
// frames pass a Checker with payload checking off.
func (g *Generator) SetGenPayload(on bool) { g.noPayload.Store(!on) }

// SetSendCount makes every payload word hold its own index in the frame
// (word 2 holds 2, word 3 holds 3, ...) instead of the LFSR sequence
// (Rogue's sendCount, off by default). A Checker rejects such frames
// unless payload checking is off. With payload generation off it has no
// effect.
func (g *Generator) SetSendCount(on bool) { g.sendCount.Store(on) }

// GenFrame requests a frame of size bytes from the primary slave (see
// engine.Master.ReqFrame), fills it with the next sequence number, sends
// it to the slaves and releases it. size must be a whole number of at least
// three words. A call that fails is counted in TxErrors.
func (g *Generator) GenFrame(size int) error {
	err := g.genFrame(size)
	if err != nil {
		g.txErrors.Add(1)
	}
	return err
}

func (g *Generator) genFrame(size int) error {
	p := g.pat.Load()
	if err := checkSize(size, p.wb); err != nil {
		return err
	}
	f, err := g.ReqFrame(size, true)
	if err != nil {
		return fmt.Errorf("prbs: requesting a %d-byte frame: %w", size, err)
	}
	defer f.Release()
	if err := f.SetPayload(size); err != nil {
		return fmt.Errorf("prbs: sizing the frame: %w", err)
	}
	if err := g.fillFrame(f, g.seq.Add(1)-1, size, p); err != nil {
		return err
	}
	if err := g.SendFrame(f); err != nil {
		return fmt.Errorf("prbs: sending: %w", err)
	}
	g.count(size)
	return nil
}

// FillFrame writes the next frame into f, for a caller that obtains and
// sends frames itself. The frame size is f's payload or, when that is
// zero, its whole Size; the payload is set to it. Filled frames count as
// transmitted; a call that fails is counted in TxErrors.
func (g *Generator) FillFrame(f engine.Frame) error {
	err := g.fillNext(f)
	if err != nil {
		g.txErrors.Add(1)
	}
	return err
}

func (g *Generator) fillNext(f engine.Frame) error {
	p := g.pat.Load()
	size := f.Payload()
	if size == 0 {
		size = f.Size()
	}
	if err := checkSize(size, p.wb); err != nil {
		return err
	}
	if err := f.SetPayload(size); err != nil {
		return fmt.Errorf("prbs: sizing the frame: %w", err)
	}
	if err := g.fillFrame(f, g.seq.Add(1)-1, size, p); err != nil {
		return err
	}
	g.count(size)
	return nil
}

func (g *Generator) count(size int) {
	g.txFrames.Add(1)
	g.txBytes.Add(uint64(size))
}

// TxCount is the number of frames generated: sent by GenFrame or the
// background generator, or filled by FillFrame (Rogue's getTxCount).
func (g *Generator) TxCount() uint64 { return g.txFrames.Load() }

// TxFrames is TxCount.
func (g *Generator) TxFrames() uint64 { return g.txFrames.Load() }

// TxBytes is the number of bytes in the frames TxCount counts.
func (g *Generator) TxBytes() uint64 { return g.txBytes.Load() }

// TxErrors is the number of frames that could not be generated: calls to
// GenFrame or FillFrame that returned an error, and failed frames of the
// background generator. (Rogue declares this counter but never counts.)
func (g *Generator) TxErrors() uint64 { return g.txErrors.Load() }

// TxRate is frames per second and TxBw bytes per second, averaged over the
// time between two recomputations. Reading either recomputes both when
// more than a second has passed since the last time, so they are
// refreshed at most once a second, as Rogue's are. Unlike Rogue's, which
// are recomputed only when a frame is sent and so keep their last value
// when transmission stops, they fall to zero once nothing is sent.
func (g *Generator) TxRate() float64 {
	r, _ := g.rates.read(&g.txFrames, &g.txBytes)
	return r
}

// TxBw is bytes per second; see TxRate.
func (g *Generator) TxBw() float64 {
	_, bw := g.rates.read(&g.txFrames, &g.txBytes)
	return bw
}

// ResetCount zeroes TxCount, TxBytes, TxErrors and the rates (Rogue's
// resetCount). The sequence number carries on.
func (g *Generator) ResetCount() {
	g.rates.reset(func() {
		g.txFrames.Store(0)
		g.txBytes.Store(0)
		g.txErrors.Store(0)
	})
}

// SetSequence sets the sequence number of the next frame. A checker
// treats sequence 0 as a restart, so restarting at 0 causes no error.
func (g *Generator) SetSequence(seq uint32) { g.seq.Store(seq) }

// fillFrame writes frame seq of pattern p over the first size bytes (the
// payload) of f, straight into its memory when it has one buffer and chunk
// by chunk through a stack buffer otherwise.
func (g *Generator) fillFrame(f engine.Frame, seq uint32, size int, p *pattern) error {
	gen, count := !g.noPayload.Load(), g.sendCount.Load()
	wb := p.wb
	data, err := f.Bytes()
	if err == nil {
		putHeader(data, seq, size, wb)
		switch {
		case !gen:
		case count:
			putCount(data[2*wb:size], 2, wb)
		default:
			fillBody(data[2*wb:size], seq, p)
		}
		return nil
	}
	if !errors.Is(err, engine.ErrNotContiguous) {
		return fmt.Errorf("prbs: filling: %w", err)
	}
	return fillSplit(f, seq, size, p, gen, count)
}

// fillSplit is fillFrame for a frame spread over several buffers.
func fillSplit(f engine.Frame, seq uint32, size int, p *pattern, gen, count bool) error {
	wb := p.wb
	var buf [maxChunkBytes]byte
	putHeader(buf[:], seq, size, wb)
	if _, err := f.WriteAt(buf[:2*wb], 0); err != nil {
		return fmt.Errorf("prbs: filling: %w", err)
	}
	if !gen {
		return nil
	}
	c := newChunker(seq, p)
	vec := vecWidth(p)
	var last [MaxWidth / 8]byte
	prev := last[:wb]
	binary.LittleEndian.PutUint32(prev, seq)
	chunk := chunkWords * wb
	for off := 2 * wb; off < size; off += chunk {
		n := min(size-off, chunk)
		switch {
		case count:
			putCount(buf[:n], off/wb, wb)
		case vec:
			vecFill(buf[:n], prev, p)
			copy(prev, buf[n-wb:n])
		default:
			c.next(buf[:], n)
		}
		if _, err := f.WriteAt(buf[:n], int64(off)); err != nil {
			return fmt.Errorf("prbs: filling: %w", err)
		}
	}
	return nil
}
