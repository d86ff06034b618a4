//go:build linux

package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Defaults used for zero Config fields.
const (
	// defaultRingSize is the size of each ring, in descriptors.
	defaultRingSize = 2048
	// defaultChunkSize is the UMEM chunk size: one page, which holds a
	// 1500-byte MTU frame and lets a 9000-byte one span three chunks.
	defaultChunkSize = 4096
)

// xdpPacketHeadroom is XDP_PACKET_HEADROOM: the kernel reserves it at the
// start of every chunk, before the caller's headroom, for XDP programs.
const xdpPacketHeadroom = unix.XDP_PACKET_HEADROOM

// Config describes an AF_XDP socket and the UMEM region it uses.
type Config struct {
	// Interface names the interface; IfIndex is used when it is empty.
	Interface string
	// IfIndex is the interface index when Interface is empty.
	IfIndex int
	// QueueID is the RX/TX queue to bind to.
	QueueID int

	// UMEM is the caller-owned, page-aligned packet memory (see MapUMEM).
	// Its length must be a multiple of ChunkSize. The socket never unmaps
	// it.
	UMEM []byte
	// ChunkSize is the size of one frame buffer: 2048 or 4096 (default).
	ChunkSize int
	// Headroom is reserved by the kernel at the start of each received
	// frame, after its own XDP_PACKET_HEADROOM (256 bytes) in the chunk.
	Headroom int

	// FillSize, CompletionSize, RxSize and TxSize are the ring sizes in
	// descriptors: powers of two, 2048 when 0. A negative
	// TxSize makes a receive-only socket without a TX ring, which also
	// spares the kernel a look at the TX ring on every poll wake-up in copy
	// mode.
	FillSize, CompletionSize, RxSize, TxSize int

	// Port and Addr configure the steering program Open creates.
	Port uint16
	// Addr is the destination address to match; zero matches any.
	Addr netip.Addr
	// program, if not nil, is an already attached program shared with
	// other sockets on the same interface; Open registers the socket in
	// its XSKMAP and Close leaves it attached.
	program *program

	// Mode forces a mode; ModeAuto tries native zero-copy, native copy
	// and generic copy in that order.
	Mode Mode
	// MultiBuffer binds with XDP_USE_SG and loads the program
	// frags-aware, so packets larger than a chunk arrive as several
	// descriptors. Open enables it by itself when the interface MTU does
	// not fit in a chunk.
	MultiBuffer bool

	// Fill lists UMEM addresses put on the fill ring before the socket is
	// registered with the program, so the first packets steered to it
	// find buffers.
	Fill []uint64
}

// modePlan lists the modes to try for a requested one.
func modePlan(m Mode) []Mode {
	if m == ModeAuto {
		return []Mode{ModeNativeZeroCopy, ModeNativeCopy, ModeGenericCopy}
	}
	return []Mode{m}
}

func (cfg *Config) defaults() error {
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = defaultChunkSize
	}
	if cfg.ChunkSize != 2048 && cfg.ChunkSize != 4096 {
		return fmt.Errorf("xdp: chunk size %d: must be 2048 or 4096", cfg.ChunkSize)
	}
	if cfg.Headroom < 0 || cfg.Headroom >= cfg.ChunkSize-xdpPacketHeadroom {
		return fmt.Errorf("xdp: headroom %d: must be in [0, %d)", cfg.Headroom, cfg.ChunkSize-xdpPacketHeadroom)
	}
	if len(cfg.UMEM) == 0 || len(cfg.UMEM)%cfg.ChunkSize != 0 {
		return fmt.Errorf("xdp: UMEM of %d bytes: must be a nonzero multiple of the chunk size %d", len(cfg.UMEM), cfg.ChunkSize)
	}
	if uintptr(unsafe.Pointer(&cfg.UMEM[0]))%uintptr(os.Getpagesize()) != 0 {
		return errors.New("xdp: UMEM must be page-aligned (use MapUMEM)")
	}
	for _, r := range []*int{&cfg.FillSize, &cfg.CompletionSize, &cfg.RxSize, &cfg.TxSize} {
		if r == &cfg.TxSize && *r < 0 {
			*r = -1
			continue
		}
		if *r == 0 {
			*r = defaultRingSize
		}
		if *r < 0 || *r > 1<<30 || *r&(*r-1) != 0 {
			return fmt.Errorf("xdp: ring size %d: must be a power of two", *r)
		}
	}
	if cfg.QueueID < 0 {
		return fmt.Errorf("xdp: negative queue id %d", cfg.QueueID)
	}
	if cfg.program == nil && cfg.Port == 0 {
		return errors.New("xdp: Config.Port is required")
	}
	if cfg.Mode > ModeGenericCopy {
		return fmt.Errorf("xdp: unknown mode %v", cfg.Mode)
	}
	if len(cfg.Fill) > cfg.FillSize {
		return fmt.Errorf("xdp: %d initial fill addresses exceed the fill ring of %d", len(cfg.Fill), cfg.FillSize)
	}
	return nil
}

func lookupLink(name string, index int) (netlink.Link, error) {
	if name != "" {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("xdp: interface %q: %w", name, err)
		}
		return l, nil
	}
	if index <= 0 {
		return nil, errors.New("xdp: Config.Interface or Config.IfIndex is required")
	}
	l, err := netlink.LinkByIndex(index)
	if err != nil {
		return nil, fmt.Errorf("xdp: interface %d: %w", index, err)
	}
	return l, nil
}

// needsMultiBuffer reports whether a full-MTU frame, with one VLAN tag, does
// not fit in what a chunk leaves for packet data.
func needsMultiBuffer(mtu, chunk, headroom int) bool {
	return mtu+ethHeaderLen+vlanTagLen > chunk-xdpPacketHeadroom-headroom
}
