package udp

import (
	"net/netip"
	"strings"
	"testing"

	"udpstream.dev/xdp"
)

// TestXDPRouteSet: publishing the same header costs nothing, peers taking
// turns reuse their cached copies, and the loaded header is the last set.
func TestXDPRouteSet(t *testing.T) {
	var r xdpRoute
	if r.load() != nil {
		t.Fatal("route before the first peer")
	}
	a := xdp.Header{Src: netip.MustParseAddrPort("10.0.0.1:5000"), Dst: netip.MustParseAddrPort("10.0.0.2:6000")}
	b := a
	b.Dst = netip.MustParseAddrPort("10.0.0.3:6000")
	b.DstMAC[5] = 7
	r.set(&a)
	pa := r.load()
	r.set(&b)
	if *r.load() != b {
		t.Fatal("second header not published")
	}
	r.set(&a)
	if r.load() != pa {
		t.Fatal("a returning peer was not served from the cache")
	}
	allocs := testing.AllocsPerRun(100, func() {
		r.set(&a)
		r.set(&b)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per switch between known peers", allocs)
	}
}

// TestXDPRingSizes: the fill ring is twice the posted buffers, the RX ring
// holds them all, and a quarter of the pool at most is posted.
func TestXDPRingSizes(t *testing.T) {
	for _, pool := range []int{256, 257, 1000, 2048, 4096, 10000, 1 << 20} {
		r := xdpRingSizes(pool)
		pow2 := func(n int) bool { return n > 0 && n&(n-1) == 0 }
		if !pow2(r.posted) || !pow2(r.tx) || r.fill != 2*r.posted || r.rx < r.posted || r.comp != 2*r.tx ||
			r.posted > max(64, pool/4) || r.posted > xdpMaxPosted || r.tx > xdpMaxTxRing {
			t.Fatalf("pool %d: %+v", pool, r)
		}
	}
	if r := xdpRingSizes(10000); r.posted != 2048 {
		t.Fatalf("default pool posts %d", r.posted)
	}
}

// TestXDPOptions: the transport's settings are checked with the others,
// each mistake named.
func TestXDPOptions(t *testing.T) {
	xo := []Option{WithTransport(TransportXDP), WithXDP("veth0", 0, xdp.ModeAuto)}
	cases := []struct {
		opts []Option
		want string
	}{
		{[]Option{WithTransport(TransportXDP)}, "needs WithXDP"},
		{[]Option{WithXDP("veth0", 0, xdp.ModeAuto)}, "applies to transport xdp"},
		{append(xo, WithXDP("veth0", -1, xdp.ModeAuto)), "queue -1"},
		{append(xo, WithXDP("veth0", 0, xdp.Mode(9))), "unknown xdp mode"},
		{append(xo, WithReusePort(2)), "WithReusePort"},
		{append(xo, WithBusyPoll(50)), "WithBusyPoll"},
		{append(xo, WithPoolSize(200)), "UMEM buffers"},
	}
	for _, c := range cases {
		cfg := defaultConfig()
		for _, o := range c.opts {
			o(&cfg)
		}
		err := cfg.validate(false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error about %q, got %v", c.want, err)
		}
	}
	cfg := defaultConfig()
	for _, o := range xo {
		o(&cfg)
	}
	if err := cfg.validate(true); err != nil {
		t.Fatalf("valid client options refused: %v", err)
	}
	if _, err := NewServer(0, false, WithTransport(TransportXDP), WithXDP("no-such-interface0", 0, xdp.ModeAuto)); err == nil ||
		!strings.Contains(err.Error(), "no-such-interface0") {
		t.Fatalf("unknown interface: %v", err)
	}
}

// TestParseXDPMode: every mode's name parses back to it; others fail.
func TestParseXDPMode(t *testing.T) {
	for m := xdp.ModeAuto; m <= xdp.ModeGenericCopy; m++ {
		if got, err := ParseXDPMode(" " + strings.ToUpper(m.String())); err != nil || got != m {
			t.Errorf("%v: %v %v", m, got, err)
		}
	}
	for _, s := range []string{"", "native", "zerocopy", "mode(9)"} {
		if _, err := ParseXDPMode(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
