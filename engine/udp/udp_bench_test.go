package udp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/mmsg"
)

// countSlave counts frames and bytes and records when the count crossed
// marks, so a benchmark can compute a rate without a clock read per frame.
type countSlave struct {
	n      atomic.Int64
	target int64
	start  atomic.Int64 // unix ns of the first frame
	last   atomic.Int64 // unix ns when n last crossed a multiple of 1024
	lastN  atomic.Int64
	done   chan struct{}
	once   sync.Once
}

func newCountSlave(target int64) *countSlave {
	return &countSlave{target: target, done: make(chan struct{})}
}

func (c *countSlave) AcceptFrame(f engine.Frame) {
	n := c.n.Add(1)
	if n == 1 {
		c.start.Store(time.Now().UnixNano())
	}
	if n&1023 == 0 {
		c.last.Store(time.Now().UnixNano())
		c.lastN.Store(n)
	}
	if n == c.target {
		c.once.Do(func() { close(c.done) })
	}
}

// blaster sends datagrams of one size to 127.0.0.1:port as fast as it can,
// one per call (naive), in sendmmsg batches (mmsg), or as 64 KiB GSO
// buffers (gso), like the C reference sender, until stopped.
type blaster struct {
	sent atomic.Uint64
	stop atomic.Bool
	wg   sync.WaitGroup
	err  error
}

func startBlaster(tb testing.TB, mode Transport, port, size int) *blaster {
	uc, err := net.DialUDP("udp4", nil, loopback(port))
	if err != nil {
		tb.Fatal(err)
	}
	mc, err := mmsg.NewConn(uc, 64)
	if err != nil {
		tb.Fatal(err)
	}
	mc.SetWriteBuffer(16 << 20)
	per := 1
	if mode == TransportGRO {
		per = min(mmsg.GSOSegments(size, 65000, mmsg.MaxGSOSegments), 64)
	}
	msgs := make([]mmsg.Message, 64)
	mem := make([]byte, 64*per*size)
	for i := range mem {
		mem[i] = byte(i)
	}
	for i := range msgs {
		b := mem[i*per*size : (i+1)*per*size]
		msgs[i].Buffers = [][]byte{b}
		if per > 1 {
			msgs[i].SegmentSize = size
		}
	}
	bl := &blaster{}
	bl.wg.Add(1)
	go func() {
		defer bl.wg.Done()
		defer mc.Close()
		for !bl.stop.Load() {
			var n int
			var err error
			if mode == TransportNaive {
				err = mc.WriteOne(&msgs[0])
				if err == nil {
					n = 1
				}
			} else {
				n, err = mc.WriteBatch(msgs)
			}
			if err != nil {
				// A refused port between runs: keep going.
				continue
			}
			bl.sent.Add(uint64(n * per))
		}
	}()
	return bl
}

func (bl *blaster) halt() uint64 {
	bl.stop.Store(true)
	bl.wg.Wait()
	return bl.sent.Load()
}

// BenchmarkUDPReceive measures the Server's receive path, one op per
// datagram delivered to a slave, for each transport and payload size, fed
// by a sender goroutine of the matching kind (one send per call, sendmmsg,
// GSO). Loss is what the kernel dropped because the receiver fell behind.
func BenchmarkUDPReceive(b *testing.B) {
	for _, size := range []int{MaxPayloadStandard, MaxPayloadJumbo} {
		for _, tr := range allTransports {
			b.Run(fmt.Sprintf("%v/%dB", tr, size), func(b *testing.B) {
				s, err := NewServer(0, size > MaxPayloadStandard, WithTransport(tr), WithBindAddress(netip.MustParseAddr("127.0.0.1")))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				s.SetRxBufferCount(20000)
				cs := newCountSlave(int64(b.N))
				engine.Connect(s, cs)
				// Warm up: carve the pool, fault the pages in.
				bl := startBlaster(b, tr, s.Port(), size)
				for cs.n.Load() < 2000 {
					time.Sleep(time.Millisecond)
				}
				b.ReportAllocs()
				b.ResetTimer()
				base := cs.n.Load()
				sent0 := bl.sent.Load()
				cs.target = base + int64(b.N)
				start := time.Now()
				select {
				case <-cs.done:
				case <-time.After(60 * time.Second):
					b.Fatalf("received %d of %d", cs.n.Load()-base, b.N)
				}
				el := time.Since(start)
				b.StopTimer()
				sent := bl.halt() - sent0
				got := float64(b.N)
				b.ReportMetric(got/el.Seconds(), "datagrams/s")
				b.ReportMetric(got*float64(size)*8/el.Seconds()/1e9, "Gbit/s")
				if sent > 0 {
					b.ReportMetric(100*max(0, 1-got/float64(sent)), "loss%")
				}
			})
		}
	}
}

// drain reads and discards datagrams on a loopback socket until closed, so
// a sender has somewhere to send.
func drain(tb testing.TB) (port int, stop func()) {
	uc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		tb.Fatal(err)
	}
	mc, err := mmsg.NewConn(uc, 64)
	if err != nil {
		tb.Fatal(err)
	}
	msgs := make([]mmsg.Message, 64)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := mc.ReadBatch(msgs); err != nil && errorsIsClosed(err) {
				return
			}
		}
	}()
	return uc.LocalAddr().(*net.UDPAddr).Port, func() { uc.Close(); <-done }
}

// clientBlast sends frames of size bytes through c until stop: one Send
// per frame (naive) or SendBatch of frames (the others). It returns the
// frames sent.
func clientBlast(c *Client, tr Transport, size int, frames []engine.Frame, stop func(sent int) bool) int {
	sent := 0
	for !stop(sent) {
		for i := range frames {
			f, err := c.AcceptReq(size, true)
			if err != nil {
				panic(err)
			}
			f.SetPayload(size)
			frames[i] = f
		}
		if tr == TransportNaive {
			for _, f := range frames {
				if c.Send(f) == nil {
					sent++
				}
			}
		} else {
			n, _ := c.SendBatch(frames)
			sent += n
		}
		for i, f := range frames {
			f.Release()
			frames[i] = engine.Frame{}
		}
	}
	return sent
}

// framesPerCall is how many frames one SendBatch gets: a batch of
// messages, each a full GSO buffer with TransportGRO, like the C sender.
func framesPerCall(tr Transport, size int) int {
	if tr == TransportGRO {
		return 64 * min(mmsg.GSOSegments(size, 65000, mmsg.MaxGSOSegments), 64)
	}
	return 64
}

// BenchmarkUDPSend measures the Client's transmit path, one op per
// datagram handed to the kernel, for each transport and payload size:
// frames are requested from the client's pool, sent (one Send per frame,
// or SendBatch: sendmmsg, GSO), and released.
func BenchmarkUDPSend(b *testing.B) {
	for _, size := range []int{MaxPayloadStandard, MaxPayloadJumbo} {
		for _, tr := range allTransports {
			b.Run(fmt.Sprintf("%v/%dB", tr, size), func(b *testing.B) {
				port, stop := drain(b)
				defer stop()
				c, err := NewClient("127.0.0.1", port, size > MaxPayloadStandard, WithTransport(tr))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				frames := make([]engine.Frame, min(framesPerCall(tr, size), b.N))
				clientBlast(c, tr, size, frames, func(sent int) bool { return sent >= len(frames) }) // warm up
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				sent := clientBlast(c, tr, size, frames, func(sent int) bool { return sent >= b.N })
				el := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(sent)/el.Seconds(), "datagrams/s")
				b.ReportMetric(float64(sent)*float64(size)*8/el.Seconds()/1e9, "Gbit/s")
				if st := c.Stats(); st.TxErrors+st.TxTimeouts != 0 {
					b.Fatalf("transmit errors: %+v", st)
				}
			})
		}
	}
}

// cTools builds the project's C reference sender and receiver (tools/csrc)
// with the system C compiler, once per process, or skips the benchmark
// when there is none.
var cTools = sync.OnceValues(func() (string, error) {
	// tools/csrc lies two levels up, at the repository's root.
	src := filepath.Join("..", "..", "tools", "csrc")
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	cc, err := exec.LookPath(cc)
	if err != nil {
		return "", fmt.Errorf("no C compiler to build the reference tools: %w", err)
	}
	out, err := os.MkdirTemp("", "udpstream-ctools-")
	if err != nil {
		return "", err
	}
	for _, tool := range []string{"refsend", "refrecv"} {
		cmd := exec.Command(cc, "-O2", "-o", filepath.Join(out, tool), filepath.Join(src, tool+".c"))
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s %s: %v: %s", cc, tool, err, b)
		}
	}
	return out, nil
})

// cResult is the JSON line the C tools print.
type cResult struct {
	Datagrams uint64  `json:"datagrams"`
	Seconds   float64 `json:"seconds"`
	PPS       float64 `json:"pps"`
	Gbps      float64 `json:"gbps"`
	CPU       float64 `json:"-"` // user+system seconds the tool used
}

// pinned runs a command on one CPU when taskset is available, as the
// reference figures were taken.
func pinned(cpu int, name string, args ...string) *exec.Cmd {
	if ts, err := exec.LookPath("taskset"); err == nil {
		return exec.Command(ts, append([]string{"-c", strconv.Itoa(cpu), name}, args...)...)
	}
	return exec.Command(name, args...)
}

func runC(cmd *exec.Cmd) (cResult, error) {
	out, err := cmd.Output()
	if err != nil {
		return cResult{}, fmt.Errorf("%v: %v", cmd.Args, err)
	}
	var r cResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return cResult{}, fmt.Errorf("%v printed %q: %v", cmd.Args, out, err)
	}
	r.CPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return r, nil
}

// freePort returns a loopback UDP port that was free a moment ago.
func freePort(tb testing.TB) int {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// benchRounds is how many times BenchmarkUDPvsC repeats each measurement,
// interleaved, before taking medians: loopback figures on a small shared
// machine vary by tens of percent from one second to the next.
// UDPSTREAM_BENCH_ROUNDS overrides it.
func benchRounds() int {
	if n, err := strconv.Atoi(os.Getenv("UDPSTREAM_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// vsC holds the programs and settings of one comparison case.
type vsC struct {
	blast, sink string
	tr          Transport
	send, recv  string
	size        int
	secs        float64
}

func (v vsC) args(port int) (string, string, string) {
	return strconv.Itoa(port), strconv.Itoa(v.size), strconv.FormatFloat(v.secs, 'f', -1, 64)
}

// sample is one measurement: the receiver's datagram rate and the CPU
// time, in nanoseconds per datagram, of the side under test.
type sample struct {
	pps, rxNs, txNs float64
}

// cToC is the reference: C sender on CPU 0, C receiver on CPU 1.
func (v vsC) cToC(b *testing.B) sample {
	port, sz, ss := v.args(freePort(b))
	var ref cResult
	var refErr error
	done := make(chan struct{})
	go func() { ref, refErr = runC(pinned(1, v.sink, port, ss, v.recv)); close(done) }()
	time.Sleep(100 * time.Millisecond)
	tx, err := runC(pinned(0, v.blast, port, sz, ss, v.send))
	if err != nil {
		b.Fatal(err)
	}
	<-done
	if refErr != nil {
		b.Fatal(refErr)
	}
	return sample{pps: ref.PPS, rxNs: perDatagram(ref.CPU, ref.Datagrams), txNs: perDatagram(tx.CPU, tx.Datagrams)}
}

func perDatagram(cpuSeconds float64, n uint64) float64 {
	if n == 0 {
		return 0
	}
	return cpuSeconds * 1e9 / float64(n)
}

// processCPU is this process's user+system time so far.
func processCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// cToServer feeds our Server (this process, on CPU 1) from the C sender.
func (v vsC) cToServer(b *testing.B) sample {
	unpin := pinSelf(1)
	defer unpin()
	s, err := NewServer(0, v.size > MaxPayloadStandard, WithTransport(v.tr), WithBindAddress(netip.MustParseAddr("127.0.0.1")))
	if err != nil {
		b.Fatal(err)
	}
	s.SetRxBufferCount(64 << 20 / (v.size + udpIPOverhead)) // as the C receiver
	cs := newCountSlave(-1)
	engine.Connect(s, cs)
	port, sz, ss := v.args(s.Port())
	cpu0 := processCPU()
	_, err = runC(pinned(0, v.blast, port, sz, ss, v.send))
	time.Sleep(200 * time.Millisecond)
	s.Close()
	cpu := processCPU() - cpu0
	if err != nil {
		b.Fatal(err)
	}
	var out sample
	if el := cs.last.Load() - cs.start.Load(); el > 0 {
		out.pps = float64(cs.lastN.Load()) / (float64(el) / 1e9)
	}
	out.rxNs = perDatagram(cpu, uint64(cs.n.Load()))
	return out
}

// clientToC sends from our Client (this process, on CPU 0) to the C
// receiver and returns the rate the receiver saw.
func (v vsC) clientToC(b *testing.B) sample {
	portN := freePort(b)
	port, _, ss := v.args(portN)
	var res cResult
	var resErr error
	done := make(chan struct{})
	go func() { res, resErr = runC(pinned(1, v.sink, port, ss, v.recv)); close(done) }()
	time.Sleep(100 * time.Millisecond)
	unpin := pinSelf(0)
	c, err := NewClient("127.0.0.1", portN, v.size > MaxPayloadStandard, WithTransport(v.tr))
	if err != nil {
		unpin()
		b.Fatal(err)
	}
	// Like the C sender, which sends the same buffers over and over (one
	// buffer one datagram at a time, or a batch of them), the frames are
	// filled once and sent repeatedly: this measures the transmit path,
	// not the pool (BenchmarkUDPSend includes the pool).
	n := framesPerCall(v.tr, v.size)
	if v.tr == TransportNaive {
		n = 1
	}
	frames := make([]engine.Frame, n)
	for i := range frames {
		f, err := c.AcceptReq(v.size, true)
		if err != nil {
			b.Fatal(err)
		}
		f.SetPayload(v.size)
		frames[i] = f
	}
	cpu0 := processCPU()
	end := time.Now().Add(time.Duration(v.secs * float64(time.Second)))
	for !time.Now().After(end) {
		if v.tr == TransportNaive {
			for range 64 {
				c.Send(frames[0])
			}
		} else {
			c.SendBatch(frames)
		}
	}
	cpu := processCPU() - cpu0
	for _, f := range frames {
		f.Release()
	}
	sent := c.Stats().TxFrames
	c.Close()
	unpin()
	<-done
	if resErr != nil {
		b.Fatal(resErr)
	}
	return sample{pps: res.PPS, txNs: perDatagram(cpu, sent)}
}

// BenchmarkUDPvsC measures, in one run and under the same conditions, the
// C reference pair and each half of ours against the other half of the
// reference: C refsend -> C refrecv, C refsend -> our Server, and our
// Client -> C refrecv, for each transport (naive, mmsg, GSO/GRO) and
// payload size. Senders run on CPU 0 and receivers on CPU 1, as the
// reference figures were taken; the three measurements are interleaved
// and repeated (benchRounds) and the medians reported. rx/C and tx/C are
// our rate over the reference rate of the same kind.
func BenchmarkUDPvsC(b *testing.B) {
	dir, err := cTools()
	if err != nil {
		b.Skip(err)
	}
	if runtime.NumCPU() < 2 {
		b.Skip("needs two CPUs to pin sender and receiver apart")
	}
	modes := []struct {
		tr         Transport
		send, recv string
	}{
		{TransportNaive, "naive", "naive"},
		{TransportMmsg, "mmsg", "mmsg"},
		{TransportGRO, "gso", "gro"},
	}
	for _, size := range []int{MaxPayloadStandard, MaxPayloadJumbo} {
		for _, m := range modes {
			b.Run(fmt.Sprintf("%v/%dB", m.tr, size), func(b *testing.B) {
				v := vsC{blast: filepath.Join(dir, "refsend"), sink: filepath.Join(dir, "refrecv"),
					tr: m.tr, send: m.send, recv: m.recv, size: size, secs: 1}
				var refPPS, rxPPS, txPPS, refRx, refTx, rxNs, txNs []float64
				for range benchRounds() {
					r := v.cToC(b)
					x := v.cToServer(b)
					t := v.clientToC(b)
					refPPS, refRx, refTx = append(refPPS, r.pps), append(refRx, r.rxNs), append(refTx, r.txNs)
					rxPPS, rxNs = append(rxPPS, x.pps), append(rxNs, x.rxNs)
					txPPS, txNs = append(txPPS, t.pps), append(txNs, t.txNs)
				}
				r, x, t := median(refPPS), median(rxPPS), median(txPPS)
				b.ReportMetric(r, "C-C_dgram/s")
				b.ReportMetric(x, "C-ours_dgram/s")
				b.ReportMetric(t, "ours-C_dgram/s")
				b.ReportMetric(x/r, "rx/C")
				b.ReportMetric(t/r, "tx/C")
				b.ReportMetric(x*float64(size)*8/1e9, "rx_Gbit/s")
				b.ReportMetric(t*float64(size)*8/1e9, "tx_Gbit/s")
				// CPU time per datagram of each side. A receiver that
				// keeps up sleeps between datagrams and pays for every
				// wake-up (more in Go, through the netpoller, than in a
				// blocking C call), and a sender's figure counts the
				// datagrams it sent, including those the receiver
				// dropped; so this is a cost indication, not the target.
				b.ReportMetric(median(refRx), "C_rx_ns/dgram")
				b.ReportMetric(median(rxNs), "our_rx_ns/dgram")
				b.ReportMetric(median(refTx), "C_tx_ns/dgram")
				b.ReportMetric(median(txNs), "our_tx_ns/dgram")
			})
		}
	}
}

// BenchmarkRxDeliver is the engine's own cost per received datagram, with
// the kernel taken out: cutting frames out of a GRO buffer (or one frame
// per message of a 64-message batch), delivering each to a slave and
// letting go of them. One op is one datagram.
func BenchmarkRxDeliver(b *testing.B) {
	for _, tr := range []Transport{TransportMmsg, TransportGRO} {
		b.Run(tr.String(), func(b *testing.B) {
			var m engine.Master
			e, err := newEndpoint(&m, false, false, []Option{WithTransport(tr)})
			if err != nil {
				b.Fatal(err)
			}
			p := unopenedPath(b, e)
			cs := newCountSlave(-1)
			engine.Connect(&m, cs)
			s := &udpSocket{}
			var pc peerCache
			var t rxTally
			var c rxCut
			from := netip.MustParseAddrPort("127.0.0.1:9")
			msg := mmsg.Message{N: 44 * 1472, SegmentSize: 1472, Addr: from}
			// Carve the pools' first slab chunks before timing.
			if buf, err := px.AllocBuffer(p.rxPool); err == nil {
				buf.Release()
			}
			if tr == TransportGRO {
				buf, err := px.AllocBuffer(p.groPool)
				if err != nil {
					b.Fatal(err)
				}
				p.judge(s, &t, &msg, true, true)
				p.deliverGRO(s, &pc, &c, &msg, buf)
				buf.Release()
			}
			b.ReportAllocs()
			b.ResetTimer()
			if tr == TransportGRO {
				for i := 0; i < b.N; i += 44 {
					buf, err := px.AllocBuffer(p.groPool)
					if err != nil {
						b.Fatal(err)
					}
					p.judge(s, &t, &msg, true, true)
					p.deliverGRO(s, &pc, &c, &msg, buf)
					buf.Release()
				}
			} else {
				const batch = 64
				slots := newRxSlots(p.rxPool, batch, e.maxPayload)
				msgs := make([]mmsg.Message, batch)
				for k := range msgs {
					msgs[k] = mmsg.Message{Buffers: slots.bufs[k : k+1 : k+1], N: 1472, Addr: from}
				}
				for i := 0; i < b.N; i += batch {
					for k := range batch {
						slots.ok[k] = p.judge(s, &t, &msgs[k], true, false)
					}
					p.deliverPlain(s, &pc, &c, msgs, slots)
					for k := range batch {
						slots.recycle(k)
					}
				}
				slots.release()
			}
			b.StopTimer()
			if cs.n.Load() < int64(b.N) {
				b.Fatalf("delivered %d of %d", cs.n.Load(), b.N)
			}
		})
	}
}
