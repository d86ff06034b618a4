// Package udprssi composes the stack Rogue's UdpRssiPack builds:
// udp.Client (or Server) == rssi.Client (or Server) == packetizer ==
// application ports, one per tDest.
package udprssi

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/packetizer"
	"udpstream.dev/engine/rssi"
	"udpstream.dev/engine/udp"
)

// ErrOptions is matched by the errors of bad options.
var ErrOptions = errors.New("udprssi: invalid options")

// Options configure a Pack. The zero value is Rogue's UdpRssiPack with
// packetizer version 1, a standard MTU and SSI on.
type Options struct {
	Jumbo      bool // 8972-byte datagrams instead of 1472
	Packetizer int  // 1 (default) or 2
	NoSSI      bool // Rogue's enSsi=False
	// CheckCRC checks the CRC of received v2 segments; UdpRssiPack does
	// not (CoreV2(False, True, enSsi)). Sent v2 segments always carry one.
	CheckCRC bool
	// MaxFrame bounds a received frame (packetizer.Options.MaxFrame;
	// 0: packetizer.DefaultMaxFrame).
	MaxFrame int
	// RSSI options; MaxSegment defaults to the UDP MaxPayload - 8, as
	// UdpRssiPack sizes it.
	RSSI rssi.Options
	UDP  []udp.Option
	// Loss drops this fraction of outgoing datagrams (0..1), with a
	// generator seeded by Seed: a test of retransmission, not for use.
	Loss float64
	Seed uint64
}

// endpoint is what udp.Client and udp.Server have in common here.
type endpoint interface {
	engine.Source
	engine.Slave
	engine.Allocator
	MaxPayload() int
	Close() error
}

// Pack is one end of the stack.
type Pack struct {
	UDP        endpoint
	RSSI       *rssi.Controller
	Packetizer *packetizer.Packetizer
	drop       *dropper
	port       int
	closeOnce  sync.Once
}

// NewClient builds the client end towards host:port.
func NewClient(host string, port int, o Options) (*Pack, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	u, err := udp.NewClient(host, port, o.Jumbo, o.UDP...)
	if err != nil {
		return nil, err
	}
	return build(u, port, o, rssi.NewClient)
}

// NewServer builds the server end on port (0: the system chooses; see
// Port).
func NewServer(port int, o Options) (*Pack, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	u, err := udp.NewServer(port, o.Jumbo, o.UDP...)
	if err != nil {
		return nil, err
	}
	return build(u, u.Port(), o, rssi.NewServer)
}

func (o *Options) check() error {
	if o.Packetizer == 0 {
		o.Packetizer = 1
	}
	if o.Packetizer != 1 && o.Packetizer != 2 {
		return fmt.Errorf("%w: packetizer version %d", ErrOptions, o.Packetizer)
	}
	if o.Loss < 0 || o.Loss > 1 {
		return fmt.Errorf("%w: loss %v outside 0..1", ErrOptions, o.Loss)
	}
	return nil
}

func build(u endpoint, port int, o Options, mk func(rssi.Options) (*rssi.Controller, error)) (*Pack, error) {
	ro := o.RSSI
	if ro.MaxSegment == 0 {
		ro.MaxSegment = u.MaxPayload() - 8
	}
	c, err := mk(ro)
	if err != nil {
		u.Close()
		return nil, err
	}
	po := packetizer.Options{Version: o.Packetizer, SSI: !o.NoSSI, MaxFrame: o.MaxFrame}
	if o.Packetizer == 2 {
		po.InboundCRC, po.OutboundCRC = o.CheckCRC, true
	}
	pk, err := packetizer.New(po)
	if err != nil {
		c.Close()
		u.Close()
		return nil, err
	}
	d := &dropper{next: u, loss: o.Loss, rng: rand.New(rand.NewPCG(o.Seed, 0x5eed))}
	engine.Connect(u, c.Transport())
	engine.Connect(c.Application(), pk.Transport())
	engine.Connect(pk.Transport(), c.Application())
	engine.Connect(c.Transport(), d) // last: a client starts its handshake
	return &Pack{UDP: u, RSSI: c, Packetizer: pk, drop: d, port: port}, nil
}

// Application is the port of channel dest (Rogue's application(dest)).
func (p *Pack) Application(dest uint8) *packetizer.Port { return p.Packetizer.Application(dest) }

// Port is the server's UDP port, or the port a client talks to.
func (p *Pack) Port() int { return p.port }

// InjectedLosses is the number of datagrams Options.Loss dropped.
func (p *Pack) InjectedLosses() uint64 { return p.drop.dropped.Load() }

// WaitOpen waits until the RSSI link is open or ctx ends.
func (p *Pack) WaitOpen(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !p.RSSI.IsOpen() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("udprssi: link not open: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Close closes the stack from the top: the packetizer, RSSI (which sends
// an RST on an open link) and the UDP endpoint.
func (p *Pack) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.Packetizer.Close()
		p.RSSI.Close()
		err = p.UDP.Close()
	})
	return err
}

// dropper passes datagrams to the UDP endpoint, dropping a fraction.
type dropper struct {
	next    endpoint
	loss    float64
	mu      sync.Mutex
	rng     *rand.Rand
	dropped atomic.Uint64
}

func (d *dropper) AcceptReq(size int, zeroCopy bool) (engine.Frame, error) {
	return d.next.AcceptReq(size, zeroCopy)
}

// SendBatch passes a batch of datagrams on in one call (RSSI sends
// what it queued together); with loss injected each goes on its own.
func (d *dropper) SendBatch(fs []engine.Frame) (int, error) {
	if b, ok := d.next.(interface {
		SendBatch([]engine.Frame) (int, error)
	}); ok && d.loss == 0 {
		return b.SendBatch(fs)
	}
	for _, f := range fs {
		d.AcceptFrame(f)
	}
	return len(fs), nil
}

func (d *dropper) AcceptFrame(f engine.Frame) {
	if d.loss > 0 {
		d.mu.Lock()
		drop := d.rng.Float64() < d.loss
		d.mu.Unlock()
		if drop {
			d.dropped.Add(1)
			return
		}
	}
	d.next.AcceptFrame(f)
}
