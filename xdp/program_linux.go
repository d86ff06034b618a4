//go:build linux

package xdp

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// programConfig selects which packets the XDP program steers to AF_XDP
// sockets.
type programConfig struct {
	// Port is the UDP destination port to match (required).
	Port uint16
	// Addr, if valid, is the destination address to match; the zero
	// netip.Addr, 0.0.0.0 and :: match any address of either family.
	Addr netip.Addr
	// MultiBuffer loads the program frags-aware (BPF_F_XDP_HAS_FRAGS), as
	// needed on interfaces whose MTU does not fit one UMEM chunk; sockets
	// must then be bound with multi-buffer support to receive such frames.
	MultiBuffer bool
	// Queues is the number of RX queues sockets may be registered for
	// (the XSKMAP size); 0 means 64.
	Queues int
}

// program is the loaded XDP program and its XSKMAP. One program is attached
// to one interface and may serve a socket per RX queue.
type program struct {
	mu       sync.Mutex
	prog     *ebpf.Program
	xsks     *ebpf.Map
	lnk      link.Link // nil when attached through netlink or not attached
	nlLink   netlink.Link
	nlFlags  int
	ifindex  int
	native   bool
	attached bool
	frags    bool
	queues   int
	closed   bool
}

// newProgram builds and loads the steering program (the package
// documentation, under "The steering program", says what it matches). It is
// not attached until Attach.
func newProgram(cfg programConfig) (*program, error) {
	if cfg.Port == 0 {
		return nil, errors.New("xdp: program needs a nonzero UDP port")
	}
	if cfg.Queues < 0 {
		return nil, fmt.Errorf("xdp: negative queue count %d", cfg.Queues)
	}
	if cfg.Queues == 0 {
		cfg.Queues = 64
	}
	spec := &ebpf.CollectionSpec{
		Maps: map[string]*ebpf.MapSpec{
			xsksMapName: {
				Name:       xsksMapName,
				Type:       ebpf.XSKMap,
				KeySize:    4,
				ValueSize:  4,
				MaxEntries: uint32(cfg.Queues),
			},
		},
		Programs: map[string]*ebpf.ProgramSpec{
			"udp_steer": {
				Name:         "udp_steer",
				Type:         ebpf.XDP,
				Instructions: udpSteerInstructions(cfg.Port, cfg.Addr),
				License:      "Dual MIT/GPL",
				Flags:        progFlags(cfg.MultiBuffer),
			},
		},
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, fmt.Errorf("xdp: load steering program: %w", err)
	}
	p := &program{
		prog:   coll.Programs["udp_steer"],
		xsks:   coll.Maps[xsksMapName],
		frags:  cfg.MultiBuffer,
		queues: cfg.Queues,
	}
	return p, nil
}

func progFlags(frags bool) uint32 {
	if frags {
		return unix.BPF_F_XDP_HAS_FRAGS
	}
	return 0
}

// Attach hooks the program to the interface. ModeAuto tries the driver hook
// and falls back to the generic one; ModeNativeZeroCopy and ModeNativeCopy
// require the driver hook; ModeGenericCopy uses the generic hook. A BPF link
// is used, so the program goes away with Close or with the process; kernels
// without XDP links get a netlink attach that Close undoes.
func (p *program) Attach(ifindex int, mode Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.attached {
		return fmt.Errorf("xdp: program already attached to interface %d", p.ifindex)
	}
	var tries []bool // native?
	switch mode {
	case ModeAuto:
		tries = []bool{true, false}
	case ModeNativeZeroCopy, ModeNativeCopy:
		tries = []bool{true}
	case ModeGenericCopy:
		tries = []bool{false}
	default:
		return fmt.Errorf("xdp: unknown mode %v", mode)
	}
	var errs []error
	for _, native := range tries {
		err := p.attach(ifindex, native)
		if err == nil {
			p.ifindex, p.native, p.attached = ifindex, native, true
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("xdp: attach to interface %d: %w", ifindex, errors.Join(errs...))
}

func (p *program) attach(ifindex int, native bool) error {
	return attachXDP(p.prog, ifindex, native, &p.lnk, &p.nlLink, &p.nlFlags)
}

// attachXDP attaches prog with a BPF link, or through netlink where the
// kernel has no XDP links; it records what Close must undo.
func attachXDP(prog *ebpf.Program, ifindex int, native bool, lnk *link.Link, nl *netlink.Link, nlFlags *int) error {
	name, flags, nlf := "generic", link.XDPGenericMode, unix.XDP_FLAGS_SKB_MODE
	if native {
		name, flags, nlf = "native", link.XDPDriverMode, unix.XDP_FLAGS_DRV_MODE
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifindex, Flags: flags})
	if err == nil {
		*lnk = l
		return nil
	}
	if !errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("%s: %w", name, err)
	}
	dev, lerr := netlink.LinkByIndex(ifindex)
	if lerr != nil {
		return fmt.Errorf("%s: %w (netlink fallback: %w)", name, err, lerr)
	}
	nlf |= unix.XDP_FLAGS_UPDATE_IF_NOEXIST
	if lerr := netlink.LinkSetXdpFdWithFlags(dev, prog.FD(), nlf); lerr != nil {
		return fmt.Errorf("%s: %w (netlink fallback: %w)", name, err, lerr)
	}
	*nl, *nlFlags = dev, nlf&^unix.XDP_FLAGS_UPDATE_IF_NOEXIST
	return nil
}

// detachXDP undoes attachXDP.
func detachXDP(lnk *link.Link, nl *netlink.Link, nlFlags int) error {
	var err error
	if *lnk != nil {
		err = (*lnk).Close()
		*lnk = nil
	}
	if *nl != nil {
		err = errors.Join(err, netlink.LinkSetXdpFdWithFlags(*nl, -1, nlFlags))
		*nl = nil
	}
	return err
}

// ensureAttached attaches the program to the requested hook of ifindex,
// moving it if it sits on the other one.
func (p *program) ensureAttached(ifindex int, native bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.attached && p.ifindex == ifindex && p.native == native {
		return nil
	}
	if p.attached {
		if err := detachXDP(&p.lnk, &p.nlLink, p.nlFlags); err != nil {
			return fmt.Errorf("xdp: detach from interface %d: %w", p.ifindex, err)
		}
		p.attached = false
	}
	if err := p.attach(ifindex, native); err != nil {
		return err
	}
	p.ifindex, p.native, p.attached = ifindex, native, true
	return nil
}

// Native reports whether the program is attached to the driver hook.
func (p *program) Native() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.native
}

// MultiBuffer reports whether the program was loaded frags-aware.
func (p *program) MultiBuffer() bool { return p.frags }

// Interface returns the index of the interface the program is attached to,
// or 0.
func (p *program) Interface() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.attached {
		return 0
	}
	return p.ifindex
}

// register points the queue's XSKMAP entry at the socket.
func (p *program) register(queue, fd int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if queue >= p.queues {
		return fmt.Errorf("xdp: queue %d beyond the program's %d XSKMAP entries", queue, p.queues)
	}
	if err := p.xsks.Put(uint32(queue), uint32(fd)); err != nil {
		return fmt.Errorf("xdp: register socket for queue %d: %w", queue, err)
	}
	return nil
}

// Close detaches the program from its interface and unloads it. Sockets
// registered with it stop receiving; close them first. Close is idempotent.
func (p *program) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err := detachXDP(&p.lnk, &p.nlLink, p.nlFlags)
	p.attached = false
	err = errors.Join(err, p.xsks.Close(), p.prog.Close())
	if err != nil {
		return fmt.Errorf("xdp: close program: %w", err)
	}
	return nil
}

// passProgram is an attached XDP_PASS program.
type passProgram struct {
	prog    *ebpf.Program
	lnk     link.Link
	nlLink  netlink.Link
	nlFlags int
	once    sync.Once
	err     error
}

// attachPass attaches a program that passes every packet to the kernel
// (native hook, falling back to generic) and returns the handle that
// detaches it. On a veth pair, frames redirected or transmitted into a veth
// by XDP are only delivered when its peer runs an XDP program, which this
// provides without changing what the peer's stack sees.
func attachPass(ifindex int) (io.Closer, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "pass",
		Type:         ebpf.XDP,
		Instructions: passInstructions(),
		License:      "Dual MIT/GPL",
		Flags:        unix.BPF_F_XDP_HAS_FRAGS,
	})
	if err != nil {
		return nil, fmt.Errorf("xdp: load pass program: %w", err)
	}
	pp := &passProgram{prog: prog}
	err = attachXDP(prog, ifindex, true, &pp.lnk, &pp.nlLink, &pp.nlFlags)
	if err != nil {
		err = errors.Join(err, attachXDP(prog, ifindex, false, &pp.lnk, &pp.nlLink, &pp.nlFlags))
	}
	if pp.lnk == nil && pp.nlLink == nil {
		prog.Close()
		return nil, fmt.Errorf("xdp: attach pass program to interface %d: %w", ifindex, err)
	}
	return pp, nil
}

// Close detaches and unloads the pass program; it is idempotent.
func (pp *passProgram) Close() error {
	pp.once.Do(func() {
		pp.err = errors.Join(detachXDP(&pp.lnk, &pp.nlLink, pp.nlFlags), pp.prog.Close())
	})
	return pp.err
}
