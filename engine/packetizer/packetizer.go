package packetizer

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"udpstream.dev/engine"
)

// ErrOptions is matched by the errors New returns for bad options.
var ErrOptions = errors.New("packetizer: invalid options")

// TxErrorCode is the error code set on an application frame that could not
// be sent whole (empty, too many segments, or a segment the transport
// refused).
const TxErrorCode uint8 = 0x01

// Options configure a Packetizer.
type Options struct {
	Version int  // 1 or 2
	SSI     bool // set SSI SOF in tUserFirst, map EOFE to the frame error (Rogue's enSsi; UdpRssiPack sets it)

	// Version 2 only, Rogue's CoreV2(enIbCrc, enObCrc): check the CRC of
	// received segments; fill it in sent ones (else 0 and b0 without 0x20).
	InboundCRC  bool
	OutboundCRC bool

	// MaxPayload is the room per segment when the transport side's slave
	// does not say (an rssi.Application does, through MaxPayload()).
	MaxPayload int

	// MaxFrame bounds a received frame in reassembly, in bytes: a frame
	// that grows past it is dropped (counted in Stats.Oversize) and the
	// rest of its segments discarded, so that a peer that never sends EOF
	// cannot grow a tDest's buffer without limit. 0 means DefaultMaxFrame;
	// at most engine.MaxFrameSize.
	MaxFrame int
}

// DefaultMaxFrame is the reassembly bound when Options.MaxFrame is 0.
const DefaultMaxFrame = 64 << 20

// Stats are a Packetizer's counters. Frames are application frames,
// segments transport frames.
type Stats struct {
	TxFrames, TxSegments uint64
	TxErrors             uint64 // frames not sent whole
	RxFrames, RxSegments uint64
	BadSegments          uint64 // segments the layout parser rejects, or errored by the transport
	CRCErrors            uint64 // v2 segments whose CRC does not match (the partial frame is dropped)
	SequenceErrors       uint64 // segments out of sequence (a gap): the segment and the partial frame are dropped
	MissingEOF           uint64 // partial frames dropped because a new frame started on their channel
	EOFEFrames           uint64 // frames delivered with ErrorEOFE set
	NoReceiver           uint64 // frames for a tDest nobody listens on (dropped, as Rogue)
	RxErrors             uint64 // frames dropped because no frame could be allocated for them
	Oversize             uint64 // frames dropped in reassembly for exceeding Options.MaxFrame
}

// Packetizer splits the frames sent to its ports into segments for its
// transport side and reassembles segments from the transport side into
// frames for its ports. Connect Transport both ways to an
// rssi.Application; use Application(dest) for each channel.
type Packetizer struct {
	opts  Options
	tr    Transport
	ports [256]Port

	txMu  sync.Mutex // Rogue sends one whole frame at a time over all tDests
	index uint16     // v1 frame index

	rxMu sync.Mutex
	rx   [256]reasm // per tDest (v2); v1 uses rx[0] for its single frame in progress

	st struct {
		txFrames, txSegments, txErrors                  atomic.Uint64
		rxFrames, rxSegments, bad, crc, seq, missingEOF atomic.Uint64
		eofe, noReceiver, rxErrors, oversize            atomic.Uint64
	}
}

// reasm is a frame in reassembly.
type reasm struct {
	active    bool
	dest      uint8
	index     uint16 // v1 frame index
	next      uint32 // expected segment number
	crc       uint32
	firstUser uint8
	skip      bool // the rest of an oversize frame is being discarded
	buf       []byte
}

// Transport is the packetizer's side towards RSSI.
type Transport struct {
	engine.Master
	p     *Packetizer
	limit atomic.Pointer[maxPayloader]
	cork  atomic.Pointer[corker]
}

type maxPayloader interface{ MaxPayload() int }

// corker is a transport that can hold what it sends for one system call
// (rssi.Application).
type corker interface {
	Cork()
	Uncork()
}

// AddSlave attaches s; the first slave that reports MaxPayload sets the
// segment size, and the first that can cork gets the ports' Cork.
func (t *Transport) AddSlave(s engine.Slave) {
	if m, ok := s.(maxPayloader); ok {
		t.limit.CompareAndSwap(nil, &m)
	}
	if k, ok := s.(corker); ok {
		t.cork.CompareAndSwap(nil, &k)
	}
	t.Master.AddSlave(s)
}

// AcceptFrame takes one received segment.
func (t *Transport) AcceptFrame(f engine.Frame) { t.p.receive(f) }

// Port is one channel (tDest) of the application side: frames it accepts
// are sent on its tDest; frames received on its tDest are emitted to its
// slaves. The frame a Port emits is lent for the call only.
type Port struct {
	engine.Master
	p    *Packetizer
	dest uint8
}

// AcceptFrame sends f on the port's tDest, split into segments.
func (pt *Port) AcceptFrame(f engine.Frame) { pt.p.sendFrame(pt.dest, f) }

// Cork asks the transport (rssi.Application.Cork) to hold the segments
// sent from now on until Uncork, so that they leave together; without
// such a transport it does nothing.
func (pt *Port) Cork() {
	if k := pt.p.tr.cork.Load(); k != nil {
		(*k).Cork()
	}
}

// Uncork ends one Cork.
func (pt *Port) Uncork() {
	if k := pt.p.tr.cork.Load(); k != nil {
		(*k).Uncork()
	}
}

// Dest is the port's tDest.
func (pt *Port) Dest() uint8 { return pt.dest }

// The ports' default pool for received frames (used unless the port's
// primary slave allocates): buffers of 16 KiB, so a large frame spans
// several, and up to 1024 freed buffers kept for reuse.
const (
	rxBufferSize = 16 << 10
	rxPoolSize   = 1024
)

// New makes a Packetizer.
func New(opts Options) (*Packetizer, error) {
	if opts.Version != 1 && opts.Version != 2 {
		return nil, fmt.Errorf("%w: version %d (1 or 2)", ErrOptions, opts.Version)
	}
	if opts.Version == 1 && (opts.InboundCRC || opts.OutboundCRC) {
		return nil, fmt.Errorf("%w: version 1 has no CRC", ErrOptions)
	}
	if opts.MaxPayload < 0 || opts.MaxPayload > 1<<16 {
		return nil, fmt.Errorf("%w: MaxPayload %d", ErrOptions, opts.MaxPayload)
	}
	if opts.MaxFrame == 0 {
		opts.MaxFrame = DefaultMaxFrame
	}
	if opts.MaxFrame < 1 || opts.MaxFrame > engine.MaxFrameSize {
		return nil, fmt.Errorf("%w: MaxFrame %d outside 1..%d", ErrOptions, opts.MaxFrame, engine.MaxFrameSize)
	}
	pool, err := engine.NewFixedPool(rxBufferSize, rxPoolSize, 0)
	if err != nil {
		return nil, err
	}
	p := &Packetizer{opts: opts}
	p.tr.p = p
	for i := range p.ports {
		p.ports[i].p, p.ports[i].dest = p, uint8(i)
		p.ports[i].SetPool(pool)
	}
	return p, nil
}

// Transport is the side to connect to RSSI's application side, both ways.
func (p *Packetizer) Transport() *Transport { return &p.tr }

// Application is the port of channel dest (Rogue's application(dest)).
func (p *Packetizer) Application(dest uint8) *Port { return &p.ports[dest] }

// Stats returns a snapshot of the counters.
func (p *Packetizer) Stats() Stats {
	s := &p.st
	return Stats{
		TxFrames: s.txFrames.Load(), TxSegments: s.txSegments.Load(), TxErrors: s.txErrors.Load(),
		RxFrames: s.rxFrames.Load(), RxSegments: s.rxSegments.Load(), BadSegments: s.bad.Load(),
		CRCErrors: s.crc.Load(), SequenceErrors: s.seq.Load(), MissingEOF: s.missingEOF.Load(),
		EOFEFrames: s.eofe.Load(), NoReceiver: s.noReceiver.Load(), RxErrors: s.rxErrors.Load(),
		Oversize: s.oversize.Load(),
	}
}

// Close closes every port and the transport side: later sends fail.
func (p *Packetizer) Close() error {
	for i := range p.ports {
		p.ports[i].Close()
	}
	p.tr.Close()
	return nil
}

// room is the bytes one segment may use.
func (p *Packetizer) room() int {
	if m := p.tr.limit.Load(); m != nil {
		return (*m).MaxPayload()
	}
	return p.opts.MaxPayload
}
