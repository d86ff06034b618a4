package srp

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/udprssi"
	"udpstream.dev/internal/testutils"
)

// rssiPair is Rogue's composition: a Go host on udp.Client == RSSI client
// == packetizer tDest 0, a Go device on udp.Server == RSSI server ==
// packetizer tDest 0, with loss injected on both sides' transmissions.
type rssiPair struct {
	server, client *udprssi.Pack
	host           *Host
	dev            *Device
	m              *memory.Master
}

func newRSSIPair(t testing.TB, version int, jumbo bool, loss float64, opts ...udp.Option) *rssiPair {
	t.Helper()
	p := &rssiPair{host: NewHost(), dev: NewDevice(memory.NewEmulate(4, 4096))}
	var err error
	o := udprssi.Options{Packetizer: version, Jumbo: jumbo, Loss: loss, Seed: 1, UDP: opts}
	if p.server, err = udprssi.NewServer(0, o); err != nil {
		t.Fatal(err)
	}
	o.Seed = 2
	if p.client, err = udprssi.NewClient("127.0.0.1", p.server.Port(), o); err != nil {
		p.server.Close()
		t.Fatal(err)
	}
	engine.Connect(p.server.Application(0), p.dev)
	engine.Connect(p.dev, p.server.Application(0))
	engine.Connect(p.host, p.client.Application(0))
	engine.Connect(p.client.Application(0), p.host)
	p.m = memory.NewMaster(p.host)
	p.m.SetTimeout(20 * time.Second) // RSSI retransmits: nothing is lost, only late
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.client.WaitOpen(ctx); err != nil {
		p.close()
		t.Fatal(err)
	}
	return p
}

func (p *rssiPair) close() {
	p.m.Close()
	p.host.Close()
	p.client.Close()
	p.server.Close()
	p.dev.Close()
}

// soak runs the full 100,000 transactions at every loss rate (minutes).
var soak = flag.Bool("srp.soak", false, "run 100,000 transactions at every loss rate in TestRSSIRandom")

// TestRSSIRandom: Go host <-> Go device over RSSI and packetizer tDest 0
// on loopback, random transactions (4..4096 bytes, read, write, post,
// verify, 64 in flight), with 0%, 1% and 10% of datagrams dropped each
// way: no mismatch, no error, every transaction completed once. The
// lossy runs are shorter (20,000 and 5,000) unless -srp.soak is given.
func TestRSSIRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("short: random transactions over lossy RSSI links; the full run covers it")
	}
	for _, c := range []struct {
		loss  float64
		total int
	}{{0, 100000}, {0.01, 20000}, {0.10, 5000}} {
		if *soak {
			c.total = 100000
		}
		t.Run(fmt.Sprintf("loss=%v", c.loss), func(t *testing.T) {
			testutils.Leak(t)
			p := newRSSIPair(t, 2, false, c.loss)
			defer p.close()
			w := &workload{total: scaled(t, c.total, 50), inflight: 64, minSize: 4, maxSize: 4096, seed: 4}
			start := time.Now()
			w.run(t, p.m)
			t.Logf("%v, %d datagrams dropped by injection", time.Since(start), p.client.InjectedLosses()+p.server.InjectedLosses())
			if w.errs.Load() != 0 {
				t.Logf("client RSSI %+v", p.client.RSSI.Stats())
				t.Logf("server RSSI %+v", p.server.RSSI.Stats())
				t.Logf("host %+v", p.host.Stats())
				t.Logf("device %+v pending %d", p.dev.Stats(), p.dev.Pending())
			}
			w.check(t)
			checkServed(t, w, p.host, p.dev, 20*time.Second)
			if c.loss > 0 && p.client.InjectedLosses()+p.server.InjectedLosses() == 0 {
				t.Fatal("no loss injected")
			}
		})
	}
}

// TestRSSICloseUnderTraffic closes the memory master, the host and the
// device while 64 transactions are in flight over RSSI: each Close returns
// within 100 ms, every worker ends, and no goroutine is left.
func TestRSSICloseUnderTraffic(t *testing.T) {
	testutils.Leak(t)
	p := newRSSIPair(t, 2, false, 0.01)
	w := &workload{total: 1 << 30, inflight: 64, minSize: 4, maxSize: 4096, seed: 5}
	done := make(chan struct{})
	go func() { w.run(t, p.m); close(done) }()
	testutils.Eventually(t, 10*time.Second, "traffic", func() bool { return w.done.Load() > 200 })
	for _, c := range []struct {
		name string
		fn   func() error
	}{{"master", p.m.Close}, {"host", p.host.Close}, {"device", p.dev.Close}} {
		start := time.Now()
		c.fn()
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("%s Close under traffic took %v", c.name, d)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("workers still running after Close")
	}
	p.close()
	if w.mismatches.Load() != 0 {
		t.Fatal(w.report())
	}
}
