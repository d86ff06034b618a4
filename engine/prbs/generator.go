package prbs

import (
	"errors"
	"fmt"
	"sync/atomic"

	"udpstream.dev/engine"
)

// Generator is a Master that emits PRBS frames with consecutive sequence
// numbers, starting at 0: the transmit half of Rogue's Prbs.
//
// Its methods may be called from several goroutines; each frame then gets
// its own sequence number, in the order the calls take them.
type Generator struct {
	engine.Master

	wb       int
	seq      atomic.Uint32
	txFrames atomic.Uint64
	txBytes  atomic.Uint64
}

// NewGenerator returns a generator of width-bit words: a multiple of 32
// from 32 to MaxWidth, or 0 for DefaultWidth.
func NewGenerator(width int) (*Generator, error) {
	wb, err := wordBytes(width)
	if err != nil {
		return nil, err
	}
	return &Generator{wb: wb}, nil
}

// GenFrame requests a frame of size bytes from the primary slave (see
// engine.Master.ReqFrame), fills it with the next sequence number, sends
// it to the slaves and releases it. size must be a whole number of at least
// three words.
func (g *Generator) GenFrame(size int) error {
	if err := checkSize(size, g.wb); err != nil {
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
	if err := fillFrame(f, g.seq.Add(1)-1, size, g.wb); err != nil {
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
// transmitted.
func (g *Generator) FillFrame(f engine.Frame) error {
	size := f.Payload()
	if size == 0 {
		size = f.Size()
	}
	if err := checkSize(size, g.wb); err != nil {
		return err
	}
	if err := f.SetPayload(size); err != nil {
		return fmt.Errorf("prbs: sizing the frame: %w", err)
	}
	if err := fillFrame(f, g.seq.Add(1)-1, size, g.wb); err != nil {
		return err
	}
	g.count(size)
	return nil
}

func (g *Generator) count(size int) {
	g.txFrames.Add(1)
	g.txBytes.Add(uint64(size))
}

// TxFrames is the number of frames generated (sent by GenFrame or filled
// by FillFrame).
func (g *Generator) TxFrames() uint64 { return g.txFrames.Load() }

// TxBytes is the number of bytes in the frames TxFrames counts.
func (g *Generator) TxBytes() uint64 { return g.txBytes.Load() }

// SetSequence sets the sequence number of the next frame. A checker
// treats sequence 0 as a restart, so restarting at 0 causes no error.
func (g *Generator) SetSequence(seq uint32) { g.seq.Store(seq) }

// fillFrame writes frame seq over the first size bytes (the payload) of f,
// straight into its memory when it has one buffer and chunk by chunk
// through a stack buffer otherwise.
func fillFrame(f engine.Frame, seq uint32, size, wb int) error {
	data, err := f.Bytes()
	if err == nil {
		putHeader(data, seq, size, wb)
		fillBody(data[2*wb:size], seq, wb)
		return nil
	}
	if !errors.Is(err, engine.ErrNotContiguous) {
		return fmt.Errorf("prbs: filling: %w", err)
	}
	var buf [maxChunkBytes]byte
	putHeader(buf[:], seq, size, wb)
	if _, err := f.WriteAt(buf[:2*wb], 0); err != nil {
		return fmt.Errorf("prbs: filling: %w", err)
	}
	s := newStream(seq, wb/4)
	chunk := chunkWords * wb
	for off := 2 * wb; off < size; off += chunk {
		n := min(size-off, chunk)
		s.next(buf[:], n, wb, off == 2*wb)
		if _, err := f.WriteAt(buf[:n], int64(off)); err != nil {
			return fmt.Errorf("prbs: filling: %w", err)
		}
	}
	return nil
}
