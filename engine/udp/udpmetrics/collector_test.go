package udpmetrics_test

import (
	"bytes"
	"net/netip"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/udp/udpmetrics"
)

// fixed is a Source with set counters; reads counts Stats calls.
type fixed struct {
	st    udp.Stats
	reads atomic.Int64
}

func (f *fixed) Stats() udp.Stats { f.reads.Add(1); return f.st }

func TestCollectorExportsStats(t *testing.T) {
	src := &fixed{st: udp.Stats{
		RxFrames: 10, RxBytes: 14720, TxFrames: 3, TxBytes: 300, KernelDroppedBuffers: 2,
		RxBufferBytes: 4096, RingDrops: 4, RxOversize: 5, TxTimeouts: 6, GRO: true, Batch: 64,
		Transport: udp.TransportGRO,
	}}
	c := udpmetrics.NewCollector("0.0.0.0:5201", src, udpmetrics.WithLabels(prometheus.Labels{"stream": "0"}))
	want := `
# HELP udpstream_rx_frames_total Datagrams accepted from the socket and turned into frames, including those later dropped by a full receive queue (rx_ring_drops_total).
# TYPE udpstream_rx_frames_total counter
udpstream_rx_frames_total{endpoint="0.0.0.0:5201",stream="0",transport="gro"} 10
# HELP udpstream_rx_bytes_total Payload bytes of the datagrams counted in rx_frames_total.
# TYPE udpstream_rx_bytes_total counter
udpstream_rx_bytes_total{endpoint="0.0.0.0:5201",stream="0",transport="gro"} 14720
# HELP udpstream_kernel_dropped_buffers_total Socket buffers (skbs) the kernel dropped on the sockets, mostly for lack of receive-buffer room (sk_drops, read through SO_MEMINFO). Not datagrams: without GRO a buffer held one datagram, with GRO one to 128.
# TYPE udpstream_kernel_dropped_buffers_total counter
udpstream_kernel_dropped_buffers_total{endpoint="0.0.0.0:5201",stream="0",transport="gro"} 2
# HELP udpstream_rx_buffer_bytes Receive buffer the kernel granted, in bytes, summed over the sockets, as the kernel charges it (twice the payload room).
# TYPE udpstream_rx_buffer_bytes gauge
udpstream_rx_buffer_bytes{endpoint="0.0.0.0:5201",stream="0",transport="gro"} 4096
# HELP udpstream_gro_enabled 1 if UDP receive offload (GRO) is in use, else 0.
# TYPE udpstream_gro_enabled gauge
udpstream_gro_enabled{endpoint="0.0.0.0:5201",stream="0",transport="gro"} 1
# HELP udpstream_tx_timeouts_total Frames not sent because the socket buffer stayed full for the whole transmit timeout.
# TYPE udpstream_tx_timeouts_total counter
udpstream_tx_timeouts_total{endpoint="0.0.0.0:5201",stream="0",transport="gro"} 6
`
	names := []string{"udpstream_rx_frames_total", "udpstream_rx_bytes_total", "udpstream_kernel_dropped_buffers_total",
		"udpstream_rx_buffer_bytes", "udpstream_gro_enabled", "udpstream_tx_timeouts_total"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c); n != 24 {
		t.Fatalf("%d metrics, want 24 (no AF_XDP metrics without transport xdp)", n)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	before := src.reads.Load()
	testutil.CollectAndCount(c)
	if n := src.reads.Load() - before; n != 1 {
		t.Fatalf("one scrape read Stats %d times, want once", n)
	}
}

func TestCollectorXDP(t *testing.T) {
	src := &fixed{st: udp.Stats{Transport: udp.TransportXDP, XDP: udp.XDPStats{
		Mode: "generic-copy", RxDropped: 7, RingFull: 1, FillEmpty: 9, MultiBuffer: true,
	}}}
	c := udpmetrics.NewCollector("veth0:0", src)
	want := `
# HELP udpstream_xdp_mode_info AF_XDP mode the kernel granted the socket (label mode: native-zerocopy, native-copy or generic-copy); always 1.
# TYPE udpstream_xdp_mode_info gauge
udpstream_xdp_mode_info{endpoint="veth0:0",mode="generic-copy",transport="xdp"} 1
# HELP udpstream_xdp_rx_dropped_total Packets the AF_XDP socket dropped for want of a buffer or as too large (XDP_STATISTICS rx_dropped).
# TYPE udpstream_xdp_rx_dropped_total counter
udpstream_xdp_rx_dropped_total{endpoint="veth0:0",transport="xdp"} 7
# HELP udpstream_xdp_fill_ring_empty_total Times the kernel found the fill ring empty (XDP_STATISTICS rx_fill_ring_empty_descs). Events, not packets: never add to packet drops.
# TYPE udpstream_xdp_fill_ring_empty_total counter
udpstream_xdp_fill_ring_empty_total{endpoint="veth0:0",transport="xdp"} 9
# HELP udpstream_xdp_multi_buffer 1 if packets larger than a UMEM chunk span several descriptors, else 0.
# TYPE udpstream_xdp_multi_buffer gauge
udpstream_xdp_multi_buffer{endpoint="veth0:0",transport="xdp"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "udpstream_xdp_mode_info",
		"udpstream_xdp_rx_dropped_total", "udpstream_xdp_fill_ring_empty_total", "udpstream_xdp_multi_buffer"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(c); n != 24+9+1 {
		t.Fatalf("%d metrics, want %d", n, 24+9+1)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
}

// TestCollectorsShareARegistry registers two endpoints of one process,
// told apart by their labels, as a receiver of several streams does.
func TestCollectorsShareARegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a := udpmetrics.NewCollector("a", &fixed{st: udp.Stats{Transport: udp.TransportMmsg}})
	b := udpmetrics.NewCollector("b", &fixed{st: udp.Stats{Transport: udp.TransportMmsg}})
	if err := reg.Register(a); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(b); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(udpmetrics.NewCollector("a", &fixed{st: udp.Stats{Transport: udp.TransportMmsg}})); err == nil {
		t.Fatal("a second collector with the same labels was accepted")
	}
	if n, err := testutil.GatherAndCount(reg, "udpstream_rx_frames_total"); err != nil || n != 2 {
		t.Fatalf("%d series, %v; want 2", n, err)
	}
}

// signal is a slave that reports each frame.
type signal chan struct{}

func (s signal) AcceptFrame(engine.Frame) { s <- struct{}{} }

// TestCollectorOnLoopback counts real datagrams through a Server and a
// Client, and reads the Server after Close.
func TestCollectorOnLoopback(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	server, err := udp.NewServer(0, false, udp.WithBindAddress(netip.MustParseAddr("127.0.0.1")))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	got := make(chan struct{}, 100)
	engine.Connect(server, signal(got))
	client, err := udp.NewClient("127.0.0.1", server.Port(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	const n = 20
	for range n {
		f, err := client.ReqFrame(100, true)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(bytes.Repeat([]byte{1}, 100))
		client.AcceptFrame(f)
		f.Release()
	}
	for i := range n {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d of %d datagrams", i, n)
		}
	}
	rx := udpmetrics.NewCollector("server", server)
	tx := udpmetrics.NewCollector("client", client)
	server.Close()
	wantRx := `
# HELP udpstream_rx_frames_total Datagrams accepted from the socket and turned into frames, including those later dropped by a full receive queue (rx_ring_drops_total).
# TYPE udpstream_rx_frames_total counter
udpstream_rx_frames_total{endpoint="server",transport="mmsg"} 20
# HELP udpstream_rx_bytes_total Payload bytes of the datagrams counted in rx_frames_total.
# TYPE udpstream_rx_bytes_total counter
udpstream_rx_bytes_total{endpoint="server",transport="mmsg"} 2000
`
	if err := testutil.CollectAndCompare(rx, strings.NewReader(wantRx), "udpstream_rx_frames_total", "udpstream_rx_bytes_total"); err != nil {
		t.Fatal(err)
	}
	wantTx := `
# HELP udpstream_tx_frames_total Datagrams the kernel accepted for transmission.
# TYPE udpstream_tx_frames_total counter
udpstream_tx_frames_total{endpoint="client",transport="mmsg"} 20
`
	if err := testutil.CollectAndCompare(tx, strings.NewReader(wantTx), "udpstream_tx_frames_total"); err != nil {
		t.Fatal(err)
	}
}

// TestEngineDoesNotLinkPrometheus keeps Prometheus out of programs that
// import only package udp.
func TestEngineDoesNotLinkPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("short: runs go list on the engine; the full run covers it")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goTool, "list", "-deps", "udpstream.dev/engine/udp").CombinedOutput()
	if err != nil {
		t.Skipf("skipping: go list unavailable: %v %s", err, out)
	}
	if strings.Contains(string(out), "prometheus") {
		t.Fatal("package udp depends on Prometheus")
	}
}

// BenchmarkCollect measures one scrape of a Collector (the metrics are
// built by the Prometheus library, which allocates them).
func BenchmarkCollect(b *testing.B) {
	c := udpmetrics.NewCollector("bench", &fixed{st: udp.Stats{Transport: udp.TransportMmsg}})
	ch := make(chan prometheus.Metric, 64)
	b.ReportAllocs()
	for b.Loop() {
		c.Collect(ch)
		for len(ch) > 0 {
			<-ch
		}
	}
}
