package netns

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestPairCarriesUDPAndCleansUp(t *testing.T) {
	if err := Check(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	p, err := Create()
	if err != nil {
		t.Skipf("skipping: cannot create network namespaces here: %v", err)
	}
	defer p.Close()
	if err := p.SetMTU(9000); err != nil {
		t.Fatal(err)
	}

	var rx, tx *net.UDPConn
	if err := p.Do(p.Rx, func() (err error) {
		rx, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(RxAddr, 0)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if err := p.Do(p.Tx, func() (err error) {
		tx, err = net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if got := tx.LocalAddr().(*net.UDPAddr).AddrPort().Addr(); got != TxAddr {
		t.Fatalf("sender address %v, want %v (not in the sender namespace?)", got, TxAddr)
	}

	big := make([]byte, 8972) // needs the 9000 MTU to pass unfragmented
	if _, err := tx.Write(big); err != nil {
		t.Fatal(err)
	}
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 9000)
	n, from, err := rx.ReadFromUDPAddrPort(buf)
	if err != nil || n != len(big) || from.Addr() != TxAddr {
		t.Fatalf("received %d bytes from %v, err %v", n, from, err)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if Exists(p.Rx) || Exists(p.Tx) {
		t.Fatalf("namespaces left behind: %s %s", p.Rx, p.Tx)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDoReportsMissingNamespace(t *testing.T) {
	if err := Check(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	p := &Pair{Rx: "udpperf-does-not-exist", Tx: "udpperf-does-not-exist"}
	called := false
	if err := p.Do(p.Rx, func() error { called = true; return nil }); err == nil || called {
		t.Fatalf("Do in a missing namespace: err %v, called %v", err, called)
	}
}
