package vethpair

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// dirMu serialises preparing NetnsDir within the process.
var dirMu sync.Mutex

// readyTimeout bounds the wait for each link to become able to transmit.
const readyTimeout = 5 * time.Second

// Check reports, as one readable error, why this process cannot build a
// Pair: creating namespaces and bind mounting them needs CAP_SYS_ADMIN,
// configuring links CAP_NET_ADMIN. It returns nil when both are held.
func Check() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("vethpair: read capabilities: %w", err)
	}
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, {unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}} {
		if data[c.bit/32].Effective&(1<<(c.bit%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("network namespaces need root (this process, euid %d, lacks %v)", os.Geteuid(), missing)
	}
	return nil
}

// New creates the two namespaces and the veth pair between them, with
// one queue per direction (so every flow uses queue 0, the one an AF_XDP
// socket serves), assigns the addresses, brings the links (and each
// namespace's loopback) up, waits until they can transmit and installs
// the static neighbours. On failure everything made so far is removed.
func New(cfg Config) (*Pair, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := Check(); err != nil {
		return nil, err
	}
	p := &Pair{MTU: cfg.MTU}
	p.A.NS, p.B.NS = netns.None(), netns.None()
	p.A.fill(cfg.A)
	p.B.fill(cfg.B)
	if err := p.build(cfg); err != nil {
		return nil, errors.Join(fmt.Errorf("vethpair: %w", err), p.Close())
	}
	return p, nil
}

func (p *Pair) build(cfg Config) error {
	for _, s := range []*Side{&p.A, &p.B} {
		if err := s.createNamespace(); err != nil {
			return err
		}
	}
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: p.A.Link, MTU: cfg.MTU, Namespace: netlink.NsFd(p.A.NS),
			NumTxQueues: 1, NumRxQueues: 1},
		PeerName:        p.B.Link,
		PeerNamespace:   netlink.NsFd(p.B.NS),
		PeerMTU:         uint32(cfg.MTU),
		PeerNumTxQueues: 1,
		PeerNumRxQueues: 1,
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s/%s: %w", p.A.Link, p.B.Link, err)
	}
	for _, s := range []*Side{&p.A, &p.B} {
		if err := s.configure(); err != nil {
			return fmt.Errorf("configure %s: %w", s.Link, err)
		}
	}
	for _, s := range []*Side{&p.A, &p.B} {
		if err := s.waitReady(readyTimeout); err != nil {
			return fmt.Errorf("%s: %w", s.Link, err)
		}
	}
	if err := p.A.addNeighbor(p.B.Addr6, p.B.MAC); err != nil {
		return err
	}
	if err := p.B.addNeighbor(p.A.Addr6, p.A.MAC); err != nil {
		return err
	}
	if cfg.StaticARP {
		return p.staticARP()
	}
	return nil
}

// createNamespace makes the side's namespace and, if it is named, pins it
// to a file in NetnsDir.
func (s *Side) createNamespace() error {
	ns, err := newNS()
	if err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	s.NS = ns
	if s.Name == "" {
		return nil
	}
	if err := prepareNetnsDir(); err != nil {
		return err
	}
	path := filepath.Join(NetnsDir, s.Name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("namespace %s already exists", s.Name)
		}
		return fmt.Errorf("create namespace %s: %w", s.Name, err)
	}
	f.Close()
	s.mountPath = path
	// A bind mount of the namespace keeps it alive without any handle or
	// process in it; the kernel permits binding nsfs files from /proc.
	src := fmt.Sprintf("/proc/self/fd/%d", int(s.NS))
	if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount namespace %s: %w", s.Name, err)
	}
	s.mounted = true
	return nil
}

// prepareNetnsDir makes NetnsDir a shared mount point, as `ip netns add`
// does, so that namespaces mounted there propagate to mount namespaces
// made later (and their removal as well).
func prepareNetnsDir() error {
	dirMu.Lock()
	defer dirMu.Unlock()
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", NetnsDir, err)
	}
	err := unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		// Not a mount point yet: make it one by binding it onto itself.
		if err = unix.Mount(NetnsDir, NetnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err == nil {
			err = unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
		}
	}
	if err != nil {
		return fmt.Errorf("make %s a shared mount: %w", NetnsDir, err)
	}
	return nil
}

// Close removes both namespaces and with them the veth pair: it unmounts
// and deletes the files of named namespaces and closes the handles. A
// namespace then disappears once no socket made in it remains open. It
// is safe to call more than once; later calls return the first result.
func (p *Pair) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = errors.Join(p.A.close(), p.B.close())
	})
	return p.closeErr
}

func (s *Side) close() error {
	var errs []error
	if s.mountPath != "" {
		if err := s.unpin(); err != nil {
			errs = append(errs, fmt.Errorf("vethpair: remove namespace %s: %w", s.Name, err))
		}
		s.mountPath, s.mounted = "", false
	}
	if s.NS.IsOpen() {
		if err := s.NS.Close(); err != nil {
			errs = append(errs, fmt.Errorf("vethpair: close namespace handle: %w", err))
		}
	}
	return errors.Join(errs...)
}

// unpin unmounts and deletes the side's file in NetnsDir, unless it is
// gone or, since `ip netns del` removed it, stands for another namespace.
func (s *Side) unpin() error {
	if !s.mounted {
		// New failed between creating the file and mounting on it.
		if err := os.Remove(s.mountPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	var onDisk, ours unix.Stat_t
	if err := unix.Stat(s.mountPath, &onDisk); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if err := unix.Fstat(int(s.NS), &ours); err != nil {
		return err
	}
	if onDisk.Dev != ours.Dev || onDisk.Ino != ours.Ino {
		return nil
	}
	if err := unix.Unmount(s.mountPath, unix.MNT_DETACH); err != nil {
		return err
	}
	if err := os.Remove(s.mountPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// NamespaceExists reports whether a named network namespace exists in
// NetnsDir, so callers can verify that Close left nothing behind.
func NamespaceExists(name string) bool {
	if checkNamespaceName(name) != nil || name == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(NetnsDir, name))
	return err == nil
}
