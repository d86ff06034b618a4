//go:build linux

package xdp

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket is an AF_XDP socket bound to one queue of one interface, with its
// four rings mapped.
//
// Concurrency: Fill and ReceiveWait form the receive
// side and must not be called concurrently with each other; Transmit,
// TxFree and Complete form the transmit side, likewise. The two sides may
// run on different goroutines. Close, Stats and the accessors may be called
// from any goroutine at any time; Close wakes a blocked ReceiveWait.
type Socket struct {
	fd    int
	file  *os.File
	rc    syscall.RawConn
	umem  []byte
	chunk uint32
	head  uint32

	// Receive side, then transmit side, on separate cache lines so that
	// goroutines running the two sides do not contend for them.
	_    [64]byte
	fill ring[uint64]
	rx   ring[Desc]
	rxs  rxState
	_    [64]byte
	comp ring[uint64]
	tx   ring[Desc]
	txs  txState
	_    [64]byte

	maps [4][]byte

	prog    *program
	ownProg bool
	ifindex int
	queue   int
	mode    Mode
	zc      bool
	sg      bool

	closeMu sync.Mutex
	closed  atomic.Bool

	sts statsState
}

// statsState carries XDP_STATISTICS out of its RawConn callback, bound
// once at Open, so that Stats does not allocate; mu serialises callers.
type statsState struct {
	mu  sync.Mutex
	st  unix.XDPStatistics
	err error
	fn  func(uintptr)
}

// rxState and txState carry arguments and results through the RawConn
// callbacks; the callbacks are bound once at Open so calls do not allocate.
type rxState struct {
	addrs  []uint64
	descs  []Desc
	n      int
	err    error
	fillFn func(uintptr)
	recvFn func(uintptr)
	waitFn func(uintptr) bool
}

type txState struct {
	descs  []Desc
	addrs  []uint64
	n      int
	err    error
	sendFn func(uintptr)
	compFn func(uintptr)
}

// Open creates the socket, registers the UMEM, maps the rings, attaches the
// steering program (its own, unless the package's tests share one), binds
// with the best mode allowed by cfg.Mode and registers the socket for its
// queue. Run it in the network namespace of the interface: the socket, the
// interface lookup and the program attachment all use the calling thread's
// namespace.
func Open(cfg Config) (s *Socket, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	dev, err := lookupLink(cfg.Interface, cfg.IfIndex)
	if err != nil {
		return nil, err
	}
	ifindex := dev.Attrs().Index
	sg := cfg.MultiBuffer || needsMultiBuffer(dev.Attrs().MTU, cfg.ChunkSize, cfg.Headroom)

	prog, own := cfg.program, false
	if prog == nil {
		prog, err = newProgram(programConfig{Port: cfg.Port, Addr: cfg.Addr, MultiBuffer: sg, Queues: cfg.QueueID + 1})
		if err != nil {
			return nil, err
		}
		own = true
		defer func() {
			if err != nil {
				prog.Close()
			}
		}()
	} else if got := prog.Interface(); got != ifindex {
		return nil, fmt.Errorf("xdp: shared program is attached to interface %d, not %d", got, ifindex)
	} else if sg && !prog.MultiBuffer() {
		return nil, errors.New("xdp: multi-buffer socket needs a program loaded frags-aware")
	}

	if s, err = openInModes(&cfg, prog, own, ifindex, sg); err != nil {
		return nil, err
	}
	s.prog, s.ownProg = prog, own
	if err = prog.register(cfg.QueueID, s.fd); err != nil {
		s.closeSocket()
		return nil, err
	}
	return s, nil
}

// openInModes tries each mode cfg.Mode allows in turn and returns the
// first socket bound. The hook a mode needs is set up first: a program of
// our own (own) is moved between the driver and generic hooks as needed; a
// shared one stays where its owner put it.
func openInModes(cfg *Config, prog *program, own bool, ifindex int, sg bool) (*Socket, error) {
	var errs []error
	for _, m := range modePlan(cfg.Mode) {
		if own {
			if err := prog.ensureAttached(ifindex, m.native()); err != nil {
				errs = append(errs, fmt.Errorf("%v: %w", m, err))
				continue
			}
		} else if prog.Native() != m.native() {
			continue
		}
		s, err := openBound(cfg, ifindex, m, sg)
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%v: %w", m, err))
	}
	if len(errs) == 0 {
		errs = append(errs, fmt.Errorf("mode %v does not fit the shared program's hook", cfg.Mode))
	}
	return nil, fmt.Errorf("xdp: open interface %d queue %d: %w", ifindex, cfg.QueueID, errors.Join(errs...))
}

// openBound creates a socket with its UMEM and rings and binds it in mode m.
// A failed bind leaves the socket unusable, so each attempt starts afresh.
func openBound(cfg *Config, ifindex int, m Mode, sg bool) (*Socket, error) {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	s := &Socket{
		fd:      fd,
		umem:    cfg.UMEM,
		chunk:   uint32(cfg.ChunkSize),
		head:    uint32(cfg.Headroom),
		ifindex: ifindex,
		queue:   cfg.QueueID,
		mode:    m,
		sg:      sg,
	}
	if err := s.setup(cfg); err != nil {
		s.closeSocket()
		return nil, err
	}
	if n, err := s.fillRing(cfg.Fill); err != nil || n != len(cfg.Fill) {
		s.closeSocket()
		return nil, fmt.Errorf("initial fill placed %d of %d: %v", n, len(cfg.Fill), err)
	}
	if err := s.bind(cfg); err != nil {
		s.closeSocket()
		return nil, err
	}
	// Let one wake-up drain the whole TX ring in copy mode instead of the
	// default budget of 32 frames; older kernels lack the option.
	if cfg.TxSize > 0 {
		budget := uint32(cfg.TxSize)
		_ = setsockopt(fd, unix.XDP_MAX_TX_SKB_BUDGET, unsafe.Pointer(&budget), unsafe.Sizeof(budget))
	}

	s.file = os.NewFile(uintptr(fd), "xdp")
	if s.rc, err = s.file.SyscallConn(); err != nil {
		s.closeSocket()
		return nil, fmt.Errorf("raw conn: %w", err)
	}
	s.rxs.fillFn = s.fillCB
	s.rxs.recvFn = s.recvCB
	s.rxs.waitFn = s.waitCB
	s.txs.sendFn = s.sendCB
	s.txs.compFn = s.compCB
	s.sts.fn = s.statsCB
	return s, nil
}

// bind binds the socket to its interface and queue in its mode, and
// checks that the kernel granted zero-copy exactly when the mode asks for
// it.
func (s *Socket) bind(cfg *Config) error {
	flags := uint16(unix.XDP_USE_NEED_WAKEUP)
	if s.mode == ModeNativeZeroCopy {
		flags |= unix.XDP_ZEROCOPY
	} else {
		flags |= unix.XDP_COPY
	}
	if s.sg {
		flags |= unix.XDP_USE_SG
	}
	sa := &unix.SockaddrXDP{Flags: flags, Ifindex: uint32(s.ifindex), QueueID: uint32(cfg.QueueID)}
	if err := bindRetry(s.fd, sa); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	var opts uint32
	if _, err := getsockopt(s.fd, unix.XDP_OPTIONS, unsafe.Pointer(&opts), unsafe.Sizeof(opts)); err != nil {
		return fmt.Errorf("getsockopt XDP_OPTIONS: %w", err)
	}
	s.zc = opts&unix.XDP_OPTIONS_ZEROCOPY != 0
	if s.zc != s.mode.zeroCopy() {
		return fmt.Errorf("kernel reports zero-copy=%v for %v", s.zc, s.mode)
	}
	return nil
}

// bindBusyWait bounds how long bind keeps retrying a queue that is busy.
const bindBusyWait = time.Second

// bindRetry binds, retrying for a while on EBUSY: the kernel releases a
// closed socket's hold on its queue from a work item, so a socket opened
// right after another one on the same queue was closed can find it still
// taken. A queue held by a live socket stays busy and the error is returned
// after bindBusyWait.
func bindRetry(fd int, sa *unix.SockaddrXDP) error {
	deadline := time.Now().Add(bindBusyWait)
	pause := time.Millisecond
	for {
		err := unix.Bind(fd, sa)
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause) // set-up path only
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// setup registers the UMEM, sizes and maps the rings.
func (s *Socket) setup(cfg *Config) error {
	reg := unix.XDPUmemReg{
		Addr:     uint64(uintptr(unsafe.Pointer(&cfg.UMEM[0]))),
		Len:      uint64(len(cfg.UMEM)),
		Size:     uint32(cfg.ChunkSize),
		Headroom: uint32(cfg.Headroom),
	}
	if err := setsockopt(s.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return fmt.Errorf("XDP_UMEM_REG: %w", err)
	}
	for _, o := range []struct{ opt, size int }{
		{unix.XDP_UMEM_FILL_RING, cfg.FillSize},
		{unix.XDP_UMEM_COMPLETION_RING, cfg.CompletionSize},
		{unix.XDP_RX_RING, cfg.RxSize},
		{unix.XDP_TX_RING, cfg.TxSize},
	} {
		if o.size < 0 {
			continue // no TX ring
		}
		v := int32(o.size)
		if err := setsockopt(s.fd, o.opt, unsafe.Pointer(&v), unsafe.Sizeof(v)); err != nil {
			return fmt.Errorf("ring size option %d = %d: %w", o.opt, o.size, err)
		}
	}
	var off unix.XDPMmapOffsets
	if _, err := getsockopt(s.fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off)); err != nil {
		return fmt.Errorf("XDP_MMAP_OFFSETS: %w", err)
	}
	if err := s.mapRings(cfg, &off); err != nil {
		return err
	}
	fr, cr, rx, tx := s.maps[0], s.maps[1], s.maps[2], s.maps[3]
	s.fill.setup(wordAt(fr, off.Fr.Producer), wordAt(fr, off.Fr.Consumer), wordAt(fr, off.Fr.Flags),
		entriesAt[uint64](fr, off.Fr.Desc, uint32(cfg.FillSize)), true)
	s.comp.setup(wordAt(cr, off.Cr.Producer), wordAt(cr, off.Cr.Consumer), wordAt(cr, off.Cr.Flags),
		entriesAt[uint64](cr, off.Cr.Desc, uint32(cfg.CompletionSize)), false)
	s.rx.setup(wordAt(rx, off.Rx.Producer), wordAt(rx, off.Rx.Consumer), wordAt(rx, off.Rx.Flags),
		entriesAt[Desc](rx, off.Rx.Desc, uint32(cfg.RxSize)), false)
	if tx != nil {
		s.tx.setup(wordAt(tx, off.Tx.Producer), wordAt(tx, off.Tx.Consumer), wordAt(tx, off.Tx.Flags),
			entriesAt[Desc](tx, off.Tx.Desc, uint32(cfg.TxSize)), true)
	}
	return nil
}

// mapRings maps the four rings (the TX ring only when cfg has one) into
// s.maps, at the offsets the kernel reported.
func (s *Socket) mapRings(cfg *Config, off *unix.XDPMmapOffsets) error {
	descSize, addrSize := uint64(unsafe.Sizeof(Desc{})), uint64(8)
	type mapping struct {
		o     unix.XDPRingOffset
		pgoff int64
		size  int
		esz   uint64
	}
	ms := [4]mapping{
		{off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, cfg.FillSize, addrSize},
		{off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, cfg.CompletionSize, addrSize},
		{off.Rx, unix.XDP_PGOFF_RX_RING, cfg.RxSize, descSize},
		{off.Tx, unix.XDP_PGOFF_TX_RING, cfg.TxSize, descSize},
	}
	for i, m := range ms {
		if m.size < 0 {
			continue
		}
		length := int(m.o.Desc + uint64(m.size)*m.esz)
		b, err := unix.Mmap(s.fd, m.pgoff, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return fmt.Errorf("mmap ring %d: %w", i, err)
		}
		s.maps[i] = b
	}
	return nil
}

// closeSocket closes the descriptor and unmaps the rings; it is used on
// half-built sockets and, under closeMu, by Close.
func (s *Socket) closeSocket() error {
	var err error
	if s.file != nil {
		// Waits for callbacks in progress and wakes ReceiveWait before
		// closing the descriptor, so the rings are unused afterwards.
		err = s.file.Close()
	} else if s.fd >= 0 {
		err = unix.Close(s.fd)
	}
	s.fd = -1
	for i, b := range s.maps {
		if b != nil {
			err = errors.Join(err, unix.Munmap(b))
			s.maps[i] = nil
		}
	}
	return err
}

// Close closes the socket, detaches and unloads the program if Open created
// it, and unmaps the rings. It leaves the UMEM mapped: the caller owns it,
// and addresses still held (received, or queued for transmit) are the
// caller's to reclaim. Close is idempotent and wakes a blocked ReceiveWait,
// which then returns ErrClosed.
func (s *Socket) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed.Load() {
		return nil
	}
	s.closed.Store(true)
	err := s.closeSocket()
	if s.ownProg {
		err = errors.Join(err, s.prog.Close())
	}
	if err != nil {
		return fmt.Errorf("xdp: close: %w", err)
	}
	return nil
}
