package rssi

import (
	"errors"
	"fmt"
	"time"
)

// ErrOptions is matched by every error NewClient and NewServer return for
// bad options.
var ErrOptions = errors.New("rssi: invalid options")

// Options configure a Controller. Zero fields take Rogue's defaults; the
// Client proposes them in its SYN and the Server adopts what the client
// proposes, as Rogue does.
type Options struct {
	// MaxSegment is the largest RSSI datagram this end sends or accepts,
	// header included: the transport's MaxPayload - 8 as Rogue sizes it
	// (1464 standard, 8964 jumbo). Required, 32..65535.
	MaxSegment int

	MaxOutstanding int           // window, 1..128; default 32
	RetranTimeout  time.Duration // default 20 ms
	CumAckTimeout  time.Duration // default 5 ms
	NullTimeout    time.Duration // a NUL goes out after a third of it idle; default 1 s
	MaxRetran      int           // transmissions of one segment before a reset, 1..255; default 15
	MaxCumAck      int           // delivered segments that force an ACK, 1..255; default 2
	TryPeriod      time.Duration // client's SYN retry period; default 100 ms

	// BusyThreshold is the depth of the queue towards the application at
	// which segments carry BUSY; default 2 (Rogue's).
	BusyThreshold int

	// rogueQuirks makes the controller behave like Rogue's where Rogue
	// fails (tests only): no ACK for duplicates or gaps, no fast
	// retransmit, a fixed retransmission timer, and a copy of the SYN
	// resets an open server.
	rogueQuirks bool
}

// withDefaults checks o and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	if o.MaxSegment < 32 || o.MaxSegment > 65535 {
		return o, fmt.Errorf("%w: MaxSegment %d outside 32..65535", ErrOptions, o.MaxSegment)
	}
	setInt(&o.MaxOutstanding, 32)
	setInt(&o.MaxRetran, 15)
	setInt(&o.MaxCumAck, 2)
	setInt(&o.BusyThreshold, 2)
	setDur(&o.RetranTimeout, 20*time.Millisecond)
	setDur(&o.CumAckTimeout, 5*time.Millisecond)
	setDur(&o.NullTimeout, time.Second)
	setDur(&o.TryPeriod, 100*time.Millisecond)
	switch {
	case o.MaxOutstanding < 1 || o.MaxOutstanding > maxWindow:
		return o, fmt.Errorf("%w: MaxOutstanding %d outside 1..%d", ErrOptions, o.MaxOutstanding, maxWindow)
	case o.MaxRetran > 255 || o.MaxCumAck > 255 || o.MaxRetran < 1 || o.MaxCumAck < 1:
		return o, fmt.Errorf("%w: MaxRetran %d / MaxCumAck %d outside 1..255", ErrOptions, o.MaxRetran, o.MaxCumAck)
	case o.BusyThreshold < 1:
		return o, fmt.Errorf("%w: BusyThreshold %d", ErrOptions, o.BusyThreshold)
	}
	for _, d := range []time.Duration{o.RetranTimeout, o.CumAckTimeout, o.NullTimeout, o.TryPeriod} {
		if d < time.Millisecond || d > 65535*time.Millisecond {
			return o, fmt.Errorf("%w: timeout %v outside 1 ms..65535 ms", ErrOptions, d)
		}
	}
	return o, nil
}

func setInt(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

func setDur(v *time.Duration, def time.Duration) {
	if *v == 0 {
		*v = def
	}
}

// params is what o proposes in a SYN (Rogue's layout, milliseconds).
func (o *Options) params() Params {
	p := RogueDefaults(o.MaxSegment)
	p.MaxOutstanding = uint8(o.MaxOutstanding)
	p.RetranTout = uint16(o.RetranTimeout / time.Millisecond)
	p.CumAckTout = uint16(o.CumAckTimeout / time.Millisecond)
	p.NullTout = uint16(o.NullTimeout / time.Millisecond)
	p.MaxRetran = uint8(o.MaxRetran)
	p.MaxCumAck = uint8(o.MaxCumAck)
	return p
}

// maxWindow bounds the window so that old and new sequence numbers stay
// apart in the 8-bit space.
const maxWindow = 128

// link is the negotiated state the timers and windows use.
type link struct {
	p       Params
	seg     int // largest datagram we send: min(negotiated, own)
	window  int
	retran  time.Duration
	cumAck  time.Duration
	null    time.Duration
	maxRetr int
	maxCum  int
}

// adopt turns received SYN parameters into a link, clamped to what this
// end can carry (Rogue adopts them unchecked; a window above 128 or a
// zero timeout would break the sequence arithmetic or the timers).
func adopt(p Params, own int) link {
	ms := func(v uint16) time.Duration { return time.Duration(max(v, 1)) * time.Millisecond }
	p.MaxOutstanding = min(max(p.MaxOutstanding, 1), maxWindow)
	p.MaxRetran = max(p.MaxRetran, 1)
	p.MaxCumAck = max(p.MaxCumAck, 1)
	return link{
		p: p, seg: min(int(p.MaxSegment), own), window: int(p.MaxOutstanding),
		retran: ms(p.RetranTout), cumAck: ms(p.CumAckTout), null: ms(p.NullTout),
		maxRetr: int(p.MaxRetran), maxCum: int(p.MaxCumAck),
	}
}
