package netns

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Pair is a receiver namespace and a sender namespace joined by a veth
// pair: RxAddr lives in Rx, TxAddr in Tx.
type Pair struct {
	Rx, Tx string // namespace names (see `ip netns list`)

	closeOnce sync.Once
	closeErr  error
}

var seq atomic.Uint32

// Check reports, as one readable error, why namespaces cannot be built
// here: not root, or no `ip` command.
func Check() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root (run as root or with CAP_NET_ADMIN and CAP_SYS_ADMIN)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("network namespaces need the `ip` command (Debian package iproute2)")
	}
	return nil
}

// Create makes the two namespaces and the veth pair between them, with
// both ends up at MTU 1500. On failure everything made so far is removed.
func Create() (*Pair, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	id := strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(int(seq.Add(1)))
	p := &Pair{Rx: "udpperf-rx-" + id, Tx: "udpperf-tx-" + id}
	if err := p.build(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Pair) build() error {
	steps := [][]string{
		{"netns", "add", p.Rx},
		{"netns", "add", p.Tx},
		// One queue per end: an AF_XDP socket serves one queue, and with
		// several the flow could hash to a queue nobody listens on.
		{"-n", p.Rx, "link", "add", IfName, "numtxqueues", "1", "numrxqueues", "1", "type", "veth",
			"peer", "name", IfName, "numtxqueues", "1", "numrxqueues", "1", "netns", p.Tx},
		{"-n", p.Rx, "addr", "add", RxAddr.String() + "/" + strconv.Itoa(PrefixLen), "dev", IfName},
		{"-n", p.Tx, "addr", "add", TxAddr.String() + "/" + strconv.Itoa(PrefixLen), "dev", IfName},
		{"-n", p.Rx, "link", "set", "lo", "up"},
		{"-n", p.Tx, "link", "set", "lo", "up"},
		{"-n", p.Rx, "link", "set", IfName, "up"},
		{"-n", p.Tx, "link", "set", IfName, "up"},
	}
	for _, args := range steps {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return nil
}

// SetMTU sets the MTU of both veth ends.
func (p *Pair) SetMTU(mtu int) error {
	for _, ns := range []string{p.Rx, p.Tx} {
		if err := ip("-n", ns, "link", "set", "dev", IfName, "mtu", strconv.Itoa(mtu)); err != nil {
			return err
		}
	}
	return nil
}

// Do runs fn on an OS thread that has entered namespace ns. Sockets
// created by fn belong to ns for their whole life, whichever goroutine uses
// them later. Goroutines started by fn run in the caller's namespace.
func (p *Pair) Do(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := enter(ns, fn)
		if restored {
			runtime.UnlockOSThread()
		}
		// Otherwise the goroutine exits locked and the runtime retires
		// the thread, so no other goroutine inherits the namespace.
		done <- err
	}()
	return <-done
}

func enter(ns string, fn func() error) (restored bool, err error) {
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, fmt.Errorf("netns: open own namespace: %w", err)
	}
	defer unix.Close(self)
	target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, fmt.Errorf("netns: open namespace %s: %w", ns, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return true, fmt.Errorf("netns: enter namespace %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		return false, errors.Join(ferr, fmt.Errorf("netns: return from namespace %s: %w", ns, err))
	}
	return true, ferr
}

// Close deletes both namespaces, which removes the veth pair with them.
// It is safe to call more than once.
func (p *Pair) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		for _, ns := range []string{p.Rx, p.Tx} {
			if !Exists(ns) {
				continue
			}
			if err := ip("netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// Exists reports whether a named namespace exists.
func Exists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

func ip(args ...string) error {
	cmd := exec.Command("ip", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("ip %s: %s", strings.Join(args, " "), msg)
	}
	return nil
}
