package vethpair

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ioTimeout bounds every wait for a datagram.
const ioTimeout = 5 * time.Second

var nameSeq atomic.Uint32

// needRoot skips when this process may not build namespaces.
func needRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("short: builds network namespaces and veth pairs (root-only)")
	}
	if err := Check(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// newPair builds a pair and removes it when the test ends.
func newPair(t *testing.T, cfg Config) *Pair {
	t.Helper()
	needRoot(t)
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// testNames returns namespace names unique to this process and test.
func testNames() (a, b string) {
	id := fmt.Sprintf("vethpair-test-%d-%d", os.Getpid(), nameSeq.Add(1))
	return id + "-a", id + "-b"
}

// sendOne sends one datagram of size bytes from side from to side to over
// IPv4 or IPv6, with fragmentation forbidden, and checks its arrival.
func sendOne(t *testing.T, from, to *Side, v6 bool, size int) error {
	t.Helper()
	network, src, dst := "udp4", from.Addr4, to.Addr4
	if v6 {
		network, src, dst = "udp6", from.Addr6, to.Addr6
	}
	var rx, tx *net.UDPConn
	if err := to.Do(func() (err error) {
		rx, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 0)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if err := from.Do(func() (err error) {
		tx, err = net.DialUDP(network, nil, rx.LocalAddr().(*net.UDPAddr))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if got := tx.LocalAddr().(*net.UDPAddr).AddrPort().Addr(); got != src {
		t.Fatalf("sender address %v, want %v (socket not in the sender's namespace?)", got, src)
	}
	forbidFragments(t, tx, v6)
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	if _, err := tx.Write(msg); err != nil {
		return err
	}
	if err := rx.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size+1)
	n, peer, err := rx.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("%s %d bytes %v -> %v: %v\n%s\n%s", network, size, src, dst, err, from.Describe(), to.Describe())
	}
	if n != size || peer.Addr() != src || string(buf[:n]) != string(msg) {
		t.Fatalf("received %d bytes from %v, want %d from %v", n, peer, size, src)
	}
	return nil
}

// forbidFragments makes a datagram larger than the MTU fail to send
// instead of leaving as fragments, so a send proves the MTU.
func forbidFragments(t *testing.T, c *net.UDPConn, v6 bool) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if v6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
		}
	})
	if err = errors.Join(err, serr); err != nil {
		t.Fatal(err)
	}
}

func linkMTU(t *testing.T, s *Side) int {
	t.Helper()
	h, err := s.handle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByIndex(s.Index)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().MTU
}

func TestPairCarriesUDPAndFollowsMTU(t *testing.T) {
	p := newPair(t, Config{})
	if p.A.Index == 0 || p.B.Index == 0 || len(p.A.MAC) != 6 || p.A.Addr4 != DefaultAddr4A.Addr() || p.B.Addr6 != DefaultAddr6B.Addr() {
		t.Fatalf("sides not filled in: %+v %+v", p.A, p.B)
	}
	if err := sendOne(t, &p.A, &p.B, false, 100); err != nil { // resolved by ARP
		t.Fatal(err)
	}
	if err := sendOne(t, &p.B, &p.A, true, 100); err != nil { // static neighbour
		t.Fatal(err)
	}

	if err := sendOne(t, &p.A, &p.B, false, 8972); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("8972-byte datagram at MTU 1500 without fragments: %v, want EMSGSIZE", err)
	}
	if err := p.SetMTU(9000); err != nil {
		t.Fatal(err)
	}
	if p.MTU != 9000 || linkMTU(t, &p.A) != 9000 || linkMTU(t, &p.B) != 9000 {
		t.Fatalf("MTU %d, links %d/%d, want 9000", p.MTU, linkMTU(t, &p.A), linkMTU(t, &p.B))
	}
	if err := sendOne(t, &p.A, &p.B, false, 8972); err != nil {
		t.Fatalf("8972-byte datagram at MTU 9000: %v", err)
	}
	if err := sendOne(t, &p.B, &p.A, true, 8952); err != nil {
		t.Fatalf("8952-byte IPv6 datagram at MTU 9000: %v", err)
	}
	if !strings.Contains(p.A.Describe(), "mtu=9000") {
		t.Fatalf("Describe: %s", p.A.Describe())
	}
}

func TestStaticARPAndChosenAddresses(t *testing.T) {
	pre := netip.MustParsePrefix
	p := newPair(t, Config{MTU: 2000, StaticARP: true,
		A: SideConfig{Link: "rx0", Addr4: pre("10.198.3.9/29"), Addr6: pre("fd00:198::9/120")},
		B: SideConfig{Link: "tx0", Addr4: pre("10.198.3.10/29"), Addr6: pre("fd00:198::a/120")}})
	if p.A.Link != "rx0" || p.B.Addr4 != pre("10.198.3.10/29").Addr() || linkMTU(t, &p.B) != 2000 {
		t.Fatalf("configuration not applied: %+v %+v", p.A, p.B)
	}
	// The entry is permanent before any traffic, so no ARP is needed.
	if !strings.Contains(p.A.Describe(), fmt.Sprintf("neigh=%v/%v/%#x", p.B.Addr4, p.B.MAC, netlink.NUD_PERMANENT)) {
		t.Fatalf("no permanent IPv4 neighbour: %s", p.A.Describe())
	}
	if err := p.StaticARP(); err != nil { // again: replaces, does not fail
		t.Fatal(err)
	}
	if err := sendOne(t, &p.B, &p.A, false, 1972); err != nil {
		t.Fatal(err)
	}
}

func TestNothingInCallersNamespace(t *testing.T) {
	needRoot(t)
	before, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	p := newPair(t, Config{A: SideConfig{Link: "vpcheck-a"}, B: SideConfig{Link: "vpcheck-b"}})
	after, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("%d links in the caller's namespace before, %d after", len(before), len(after))
	}
	for _, name := range []string{p.A.Link, p.B.Link} {
		if _, err := netlink.LinkByName(name); err == nil {
			t.Fatalf("%s exists in the caller's namespace", name)
		}
	}
}

func TestNamedNamespacesAreRemovedByClose(t *testing.T) {
	needRoot(t)
	na, nb := testNames()
	p, err := New(Config{A: SideConfig{Namespace: na}, B: SideConfig{Namespace: nb}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, s := range []*Side{&p.A, &p.B} {
		var onDisk, handle unix.Stat_t
		if err := unix.Stat(filepath.Join(NetnsDir, s.Name), &onDisk); err != nil {
			t.Fatal(err)
		}
		if err := unix.Fstat(int(s.NS), &handle); err != nil {
			t.Fatal(err)
		}
		if onDisk.Dev != handle.Dev || onDisk.Ino != handle.Ino || !NamespaceExists(s.Name) {
			t.Fatalf("%s/%s is not the side's namespace", NetnsDir, s.Name)
		}
	}
	if _, err := New(Config{A: SideConfig{Namespace: na}}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second pair named %s: %v", na, err)
	}
	if !NamespaceExists(na) {
		t.Fatalf("a failed New removed the existing %s", na)
	}
	if err := sendOne(t, &p.B, &p.A, false, 1000); err != nil {
		t.Fatal(err)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{na, nb} {
		if _, err := os.Lstat(filepath.Join(NetnsDir, name)); !errors.Is(err, os.ErrNotExist) || NamespaceExists(name) {
			t.Fatalf("%s left behind: %v", name, err)
		}
	}
	if p.A.NS.IsOpen() || p.B.NS.IsOpen() {
		t.Fatal("handles still open after Close")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.A.Do(func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
	if err := p.SetMTU(1400); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetMTU after Close: %v", err)
	}
	if _, err := p.B.XDPProgID(); !errors.Is(err, ErrClosed) {
		t.Fatalf("XDPProgID after Close: %v", err)
	}
}

// TestNamedNamespacesFollowNetnsConvention checks that named namespaces are
// where other tools look for them: the netns library, which follows the
// convention of `ip netns`, opens each by name as the Side's namespace and
// finds the veth end in it, and deleting one by name as `ip netns del` does
// (unmount, remove) leaves Close working.
func TestNamedNamespacesFollowNetnsConvention(t *testing.T) {
	needRoot(t)
	na, nb := testNames()
	p := newPair(t, Config{A: SideConfig{Namespace: na}, B: SideConfig{Namespace: nb}})
	for _, side := range []*Side{&p.A, &p.B} {
		byName, err := netns.GetFromName(side.Name)
		if err != nil {
			t.Fatalf("open namespace %s by name: %v", side.Name, err)
		}
		same := byName.Equal(side.NS)
		var mtu int
		h, err := netlink.NewHandleAt(byName)
		if err == nil {
			var l netlink.Link
			if l, err = h.LinkByName(side.Link); err == nil {
				mtu = l.Attrs().MTU
			}
			h.Close()
		}
		byName.Close()
		if !same {
			t.Fatalf("namespace %s by name is not the Side's namespace", side.Name)
		}
		if err != nil || mtu != DefaultMTU {
			t.Fatalf("link %s in namespace %s: MTU %d, %v; want %d", side.Link, side.Name, mtu, err, DefaultMTU)
		}
	}
	if err := netns.DeleteNamed(na); err != nil {
		t.Fatalf("delete namespace %s by name: %v", na, err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close after one side was deleted by name: %v", err)
	}
	if NamespaceExists(na) || NamespaceExists(nb) {
		t.Fatal("namespaces left behind")
	}
}

// strayThreads lists every thread of the process that is not in the
// process's own network namespace, and every thread without
// CAP_SYS_ADMIN in their effective set.
func strayThreads(t *testing.T) (stray []string) {
	t.Helper()
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		ns, err := os.Readlink(filepath.Join("/proc/self/task", task.Name(), "ns/net"))
		if err != nil {
			continue // exited meanwhile
		}
		if ns != own {
			stray = append(stray, fmt.Sprintf("thread %s in %s", task.Name(), ns))
		}
		status, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			var capEff uint64
			if _, err := fmt.Sscanf(line, "CapEff: %x", &capEff); err == nil && capEff&(1<<unix.CAP_SYS_ADMIN) == 0 {
				stray = append(stray, fmt.Sprintf("thread %s without CAP_SYS_ADMIN", task.Name()))
			}
		}
	}
	return stray
}

// waitNoStrays waits for retired threads to exit, then reports any
// thread left outside the process's namespace.
func waitNoStrays(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		stray := strayThreads(t)
		if len(stray) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads left behind: %v", stray)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDoRestoresTheThread(t *testing.T) {
	p := newPair(t, Config{})
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		var inside string
		if err := p.A.Do(func() (err error) {
			inside, err = os.Readlink("/proc/thread-self/ns/net")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if inside == own {
			t.Fatalf("Do ran fn in the caller's namespace %s", own)
		}
	}
	want := errors.New("from fn")
	if err := p.B.Do(func() error { return want }); err != want {
		t.Fatalf("Do returned %v, want fn's error", err)
	}
	waitNoStrays(t)
}

// dropEffective removes capability c from the calling thread's effective
// set (capabilities are per thread).
func dropEffective(c uint) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[c/32].Effective &^= 1 << (c % 32)
	return unix.Capset(&hdr, &data[0])
}

func TestDoRetiresAThreadThatCannotReturn(t *testing.T) {
	p := newPair(t, Config{})
	// Without CAP_SYS_ADMIN the thread cannot setns back.
	err := p.A.Do(func() error { return dropEffective(unix.CAP_SYS_ADMIN) })
	if err == nil || !strings.Contains(err.Error(), "return from namespace") {
		t.Fatalf("Do: %v, want a failed return", err)
	}
	waitNoStrays(t)
	// The process goes on working in its own namespace.
	if err := sendOne(t, &p.A, &p.B, true, 64); err != nil {
		t.Fatal(err)
	}
}

func TestCheckNamesMissingCapability(t *testing.T) {
	needRoot(t)
	var checkErr error
	err := onThread(func() (bool, error) {
		if err := dropEffective(unix.CAP_NET_ADMIN); err != nil {
			return true, err
		}
		checkErr = Check()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return false, err
		}
		data[0].Effective = data[0].Permitted
		data[1].Effective = data[1].Permitted
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return false, err // retire the thread
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checkErr == nil || !strings.Contains(checkErr.Error(), "root") || !strings.Contains(checkErr.Error(), "CAP_NET_ADMIN") ||
		strings.Contains(checkErr.Error(), "CAP_SYS_ADMIN") {
		t.Fatalf("Check without CAP_NET_ADMIN: %v", checkErr)
	}
	waitNoStrays(t)
}

func TestOffloadAndXDPQueries(t *testing.T) {
	p := newPair(t, Config{})
	for _, o := range []Offload{TxChecksum, RxChecksum} {
		if err := p.A.SetOffload(o, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.A.SetOffload(Offload(0xffff), true); err == nil {
		t.Fatal("unknown ethtool command accepted")
	}
	if id, err := p.B.XDPProgID(); err != nil || id != 0 {
		t.Fatalf("XDP program %d, %v on a fresh link", id, err)
	}
	// With checksum offload off the datagram still arrives intact.
	if err := sendOne(t, &p.A, &p.B, false, 500); err != nil {
		t.Fatal(err)
	}
}
