package iperf3

import (
	"net"
	"net/netip"
	"testing"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
	"udpstream.dev/mmsg"
)

// BenchmarkRxAdd is the receiver's accounting per datagram (0 allocs).
func BenchmarkRxAdd(b *testing.B) {
	rx := &rxStream{running: true}
	buf := make([]byte, 1472)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		PutHeader(buf, 1, 2, uint64(i+1), false)
		rx.add(buf, 3)
	}
}

// BenchmarkDemuxDatagram is the server's routing and accounting of one
// data datagram (0 allocs).
func BenchmarkDemuxDatagram(b *testing.B) {
	d := newDemux(&dataSock{})
	addr := netip.MustParseAddrPort("127.0.0.1:40000")
	rx := &rxStream{running: true}
	d.routes[addr] = route{rx: rx}
	buf := make([]byte, 1472)
	m := mmsg.Message{Buffers: [][]byte{buf}, N: len(buf), Addr: addr}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		PutHeader(buf, 1, 2, uint64(i+1), false)
		d.message(&m, 3)
	}
}

// BenchmarkSenderSend is one batch of 64 datagrams through sendmmsg on
// loopback (0 allocs); ns/op is per batch.
func BenchmarkSenderSend(b *testing.B) {
	rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	uc, err := net.DialUDP("udp", nil, rc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	sock := newDataSock(uc, sendBatch, false, 0)
	defer sock.close()
	s := newSender(sock, netip.AddrPort{}, 1472, false, 0, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = s.send(uint64(i*s.capacity()), s.capacity())
	}
}

// BenchmarkEngineSenderSend is one batch of 64 datagrams through the
// engine's udp.Client (frames from its pool, SendBatch, GSO transport) on
// loopback; ns/op is per batch.
func BenchmarkEngineSenderSend(b *testing.B) {
	rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	c, err := udp.NewClient("127.0.0.1", rc.LocalAddr().(*net.UDPAddr).Port, false, udp.WithTransport(udp.TransportGRO))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	e := &engineSender{c: c, size: 1472, tmpl: make([]byte, 1472), frames: make([]engine.Frame, sendBatch)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = e.send(uint64(i*sendBatch), sendBatch)
	}
}
