package srp

import (
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/udp"
	"udpstream.dev/internal/testutils"
)

// udpPair is a Go host on a udp.Client and a Go device on a udp.Server,
// on loopback, jumbo (a 4096-byte write is one 4116-byte datagram).
type udpPair struct {
	server *udp.Server
	client *udp.Client
	host   *Host
	dev    *Device
	mem    *memory.Emulate
	m      *memory.Master
}

func newUDPPair(t testing.TB, opts ...udp.Option) *udpPair {
	t.Helper()
	p := &udpPair{host: NewHost(), mem: memory.NewEmulate(4, 4096)}
	p.dev = NewDevice(p.mem)
	var err error
	if p.server, err = udp.NewServer(0, true, opts...); err != nil {
		t.Fatal(err)
	}
	if p.client, err = udp.NewClient("127.0.0.1", p.server.Port(), true, opts...); err != nil {
		p.server.Close()
		t.Fatal(err)
	}
	p.server.SetRxBufferCount(2000)
	p.client.SetRxBufferCount(2000)
	engine.Connect(p.server, p.dev)
	engine.Connect(p.dev, p.server)
	engine.Connect(p.host, p.client)
	engine.Connect(p.client, p.host)
	p.m = memory.NewMaster(p.host)
	// Nothing is lost on loopback; the timeout only has to outlast a
	// loaded machine running the race detector.
	p.m.SetTimeout(10 * time.Second)
	return p
}

func (p *udpPair) close() {
	p.m.Close()
	p.host.Close()
	p.client.Close()
	p.server.Close()
	p.dev.Close()
}

// TestUDPRandom: a Go host and a Go device over loopback UDP, 100,000
// random transactions (4..4096 bytes, read, write, post, verify, 64 in
// flight): no mismatch, no error, each completed once.
func TestUDPRandom(t *testing.T) {
	testutils.Leak(t)
	p := newUDPPair(t)
	defer p.close()
	w := &workload{total: scaled(t, 100000, 10), inflight: 64, minSize: 4, maxSize: 4096, seed: 3}
	start := time.Now()
	w.run(t, p.m)
	t.Logf("%v", time.Since(start))
	if w.errs.Load() != 0 {
		t.Logf("client %+v", p.client.Stats())
		t.Logf("server %+v", p.server.Stats())
		t.Logf("host %+v device %+v", p.host.Stats(), p.dev.Stats())
	}
	w.check(t)
	checkServed(t, w, p.host, p.dev, 5*time.Second)
}
