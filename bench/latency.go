package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/netns"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// LatencyCase describes a ping-pong measurement: the client sends one
// ping, the server echoes it, the client records the round trip and sends
// the next, one datagram in flight at a time.
type LatencyCase struct {
	Transport udp.Transport
	// Payload is the size of each ping in bytes (default 64, at least 40).
	Payload int
	// Duration bounds the measurement (default 2 s); Count, if set, stops
	// it after that many round trips.
	Duration time.Duration
	Count    int
	Batch    int
	// Host and Port name a running `udpperf server` to ping. Empty Host
	// runs the echo server in this process, on loopback or in Network.
	Host    string
	Port    int
	Network *netns.Namespaces
	// XDP names the interface and queue of the xdp transport towards Host;
	// in Network the veth ends are used.
	XDP   report.XDP
	NoPin bool
	// Timeout is how long a ping may go unanswered before it counts as
	// lost and the next is sent (default 200 ms).
	Timeout  time.Duration
	BusyPoll int
	// Warmup is a period at the start whose samples are discarded (0:
	// none); the run lasts Warmup + Duration.
	Warmup time.Duration
	// HalfRTT reports half the round trip, as sockperf does.
	HalfRTT bool
	// LowLatency opens the client (and the in-process echo server) with
	// udp.WithLowLatencySpin(Spin), and keeps GOMAXPROCS one above their
	// receive threads for the run.
	LowLatency bool
	Spin       time.Duration
	// MPS, when set, measures under load (sockperf's under-load mode):
	// the client streams MPS messages per second without waiting for
	// answers, and every ReplyEvery-th of them (default 100) is a ping
	// the server echoes; the others are plain data datagrams.
	MPS        float64
	ReplyEvery int
}

// Defaults of a LatencyCase.
const (
	DefaultLatencyPayload = 64
	DefaultLatencyTimeout = 200 * time.Millisecond
	DefaultReplyEvery     = 100
)

// LatencyResult holds latency figures in microseconds: round trips, or
// half of them with HalfRTT (Figures says which).
type LatencyResult struct {
	Test report.TestInfo `json:"test"`
	// Samples counts the round trips measured after the warm-up;
	// WarmupSamples those discarded during it.
	Samples       uint64  `json:"samples"`
	WarmupSamples uint64  `json:"warmup_samples"`
	WarmupSeconds float64 `json:"warmup_seconds"`
	// Lost counts pings that went unanswered within the timeout.
	Lost uint64 `json:"lost"`
	// Clamped counts samples beyond the histogram's 10 s range, recorded
	// at its top.
	Clamped uint64 `json:"clamped,omitempty"`
	HalfRTT bool   `json:"half_rtt"`
	Figures string `json:"figures"`
	Ladder
	// Under load: the target message rate, the ping share, the messages
	// sent (pings and data) and their measured rate.
	MPS               float64 `json:"mps,omitempty"`
	ReplyEvery        int     `json:"reply_every,omitempty"`
	Messages          uint64  `json:"messages,omitempty"`
	MessagesPerSecond float64 `json:"messages_per_second,omitempty"`
	// SendErrors counts messages the kernel refused to send.
	SendErrors uint64 `json:"send_errors,omitempty"`
	Error      string `json:"error,omitempty"`

	// The histogram of the kept samples and the span it covers, for
	// WriteHistogramLog.
	hist             *hdrhistogram.Histogram
	histFrom, histTo time.Time
}

func (lc LatencyCase) withDefaults() LatencyCase {
	if lc.Payload == 0 {
		lc.Payload = DefaultLatencyPayload
	}
	if lc.Duration == 0 {
		lc.Duration = report.DefaultDuration
	}
	if lc.Batch == 0 {
		lc.Batch = report.DefaultBatch
	}
	if lc.Transport == udp.TransportNaive {
		lc.Batch = 1
	}
	if lc.Timeout == 0 {
		lc.Timeout = DefaultLatencyTimeout
	}
	if lc.ReplyEvery == 0 {
		lc.ReplyEvery = DefaultReplyEvery
	}
	return lc
}

func (lc LatencyCase) validate() error {
	var errs []error
	if err := report.CheckTransport(lc.Transport); err != nil {
		errs = append(errs, err)
	}
	if lc.Payload < wire.HeaderLen || lc.Payload > udp.MaxPayloadJumbo {
		errs = append(errs, fmt.Errorf("ping size %d outside %d..%d", lc.Payload, wire.HeaderLen, udp.MaxPayloadJumbo))
	}
	if lc.Count < 0 || lc.Duration < 0 || lc.Timeout < 0 || lc.Warmup < 0 {
		errs = append(errs, errors.New("count, duration, timeout and warm-up must not be negative"))
	}
	if lc.MPS < 0 || math.IsNaN(lc.MPS) || math.IsInf(lc.MPS, 0) || lc.ReplyEvery < 1 {
		errs = append(errs, fmt.Errorf("messages per second %g and reply-every %d: want MPS >= 0 and reply-every >= 1", lc.MPS, lc.ReplyEvery))
	}
	if lc.Batch < 1 || lc.Batch > udp.MaxBatch {
		errs = append(errs, fmt.Errorf("batch %d outside 1..%d", lc.Batch, udp.MaxBatch))
	}
	if lc.Transport == udp.TransportXDP {
		switch {
		case lc.Host == "" && lc.Network == nil:
			errs = append(errs, errors.New("transport xdp runs across a veth pair: use Network (--netns)"))
		case lc.Host != "" && lc.XDP.Iface == "":
			errs = append(errs, report.ErrXDPNeedsInterface)
		}
	}
	return errors.Join(errs...)
}

// Latency measures round trips for one case.
func Latency(ctx context.Context, lc LatencyCase) (LatencyResult, error) {
	lc = lc.withDefaults()
	c := report.Case{Transport: lc.Transport, Payload: lc.Payload, Batch: lc.Batch, Duration: lc.Duration, Network: lc.Network, XDP: lc.XDP,
		LowLatency: lc.LowLatency, Spin: lc.Spin}.WithDefaults()
	res := LatencyResult{Test: c.TestInfo(), HalfRTT: lc.HalfRTT, Figures: Figures(lc.HalfRTT), WarmupSeconds: lc.Warmup.Seconds()}
	if lc.MPS > 0 {
		res.MPS, res.ReplyEvery = lc.MPS, lc.ReplyEvery
		res.Test.Rate = fmt.Sprintf("%gmps", lc.MPS)
	}
	fail := func(err error) (LatencyResult, error) {
		res.Error = err.Error()
		return res, err
	}
	if err := lc.validate(); err != nil {
		return fail(err)
	}
	opts := endpointOptions(c)
	if lc.BusyPoll > 0 {
		opts = append(opts, udp.WithBusyPoll(lc.BusyPoll))
	}
	txCPU, rxCPU := pinPlan(lc.NoPin)
	if lc.LowLatency {
		sockets := 2 // the client's and the echo server's
		if lc.Host != "" {
			sockets = 1
		}
		defer reserveProcs(sockets)()
	}
	var client *udp.Client
	if lc.Host != "" {
		res.Test.Network = fmt.Sprintf("%s:%d", lc.Host, lc.Port)
		var err error
		if client, err = udp.NewClient(lc.Host, lc.Port, c.Jumbo(), opts...); err != nil {
			return fail(err)
		}
	} else {
		server, cl, err := openPair(c)
		if err != nil {
			return fail(err)
		}
		defer server.Close()
		echo, err := account.NewReceiver(server, server, rxCPU, false)
		if err != nil {
			cl.Close()
			return fail(err)
		}
		engine.Connect(server, echo)
		defer echo.RestoreAffinity()
		client = cl
	}
	defer client.Close()

	if err := measure(ctx, client, lc, txCPU, &res); err != nil {
		return fail(err)
	}
	if res.Samples == 0 {
		return fail(fmt.Errorf("no ping was answered after the warm-up (%d lost, %d in the warm-up)", res.Lost, res.WarmupSamples))
	}
	return res, nil
}

// measure runs the ping-pong or, with MPS, the under-load measurement
// through client and fills in res; it closes client.
func measure(ctx context.Context, client *udp.Client, lc LatencyCase, txCPU int, res *LatencyResult) error {
	if lc.MPS > 0 {
		l, err := newLoader(client, lc)
		if err != nil {
			return err
		}
		engine.Connect(client, l)
		runErr := l.run(ctx)
		client.Close()
		l.fill(res)
		return runErr
	}
	p, err := newPinger(client, lc, txCPU)
	if err != nil {
		return err
	}
	engine.Connect(client, p)
	runErr := p.run(ctx)
	client.Close()
	p.affinity.Restore()
	p.fill(res)
	return runErr
}

// pinger keeps one ping in flight. The client's delivery goroutine records
// each echo and sends the next ping at once, so a round trip costs no
// goroutine hand-off; a watchdog replaces a ping that went unanswered.
type pinger struct {
	client  *udp.Client
	lc      LatencyCase
	base    time.Time
	session uint64
	pinCPU  int

	mu    sync.Mutex // guards frame: the watchdog and the echo path both send
	frame engine.Frame
	buf   []byte

	cur      atomic.Uint64 // sequence of the ping in flight
	samples  atomic.Uint64
	lost     atomic.Uint64
	stopped  atomic.Bool
	finished chan struct{}
	finOnce  sync.Once
	sendErr  atomic.Pointer[error]

	rec      *recorder // written by the delivery goroutine only
	pinned   bool
	affinity cpu.Affinity
}

func newPinger(client *udp.Client, lc LatencyCase, pinCPU int) (*pinger, error) {
	f, err := client.AcceptReq(lc.Payload, true)
	if err != nil {
		return nil, err
	}
	if err := f.SetPayload(lc.Payload); err != nil {
		f.Release()
		return nil, err
	}
	buf, err := f.Bytes()
	if err != nil {
		f.Release()
		return nil, err
	}
	clear(buf)
	return &pinger{
		client:   client,
		lc:       lc,
		base:     time.Now(),
		session:  uint64(time.Now().UnixNano()),
		pinCPU:   pinCPU,
		frame:    f,
		buf:      buf,
		finished: make(chan struct{}),
		rec:      newRecorder(lc.Warmup, lc.HalfRTT),
	}, nil
}

// send transmits ping seq stamped with the current time.
func (p *pinger) send(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	wire.Put(p.buf, wire.Message{Type: wire.TypePing, Session: p.session, A: seq, B: uint64(time.Since(p.base))})
	if err := p.client.Send(p.frame); err != nil {
		p.noteError(err)
	}
}

// noteError keeps the first send error; only a failure moves it to the
// heap.
func (p *pinger) noteError(err error) {
	if p.sendErr.Load() == nil {
		p.sendErr.CompareAndSwap(nil, &err)
	}
}

func (p *pinger) finish() { p.finOnce.Do(func() { close(p.finished) }) }

// due reports whether the measurement is over.
func (p *pinger) due() bool {
	return (p.lc.Count > 0 && p.samples.Load() >= uint64(p.lc.Count)) || time.Since(p.base) >= p.lc.Warmup+p.lc.Duration
}

// AcceptFrame records an echo and sends the next ping.
func (p *pinger) AcceptFrame(f engine.Frame) {
	now := time.Since(p.base)
	data, err := f.Bytes()
	if err != nil {
		return
	}
	m, err := wire.Decode(data)
	if err != nil || m.Type != wire.TypePing || m.Session != p.session {
		return
	}
	if !p.pinned && p.pinCPU >= 0 {
		p.pinned = true
		p.affinity, _ = cpu.Pin(0, p.pinCPU)
	}
	if p.stopped.Load() || !p.cur.CompareAndSwap(m.A, m.A+1) {
		return // a late echo of a ping already given up
	}
	if p.rec.record(time.Duration(m.B), now) {
		p.samples.Add(1)
	}
	if p.due() {
		p.stopped.Store(true)
		p.finish()
		return
	}
	p.send(m.A + 1)
}

// run sends the first ping and watches for lost ones until done.
func (p *pinger) run(ctx context.Context) error {
	p.base = time.Now()
	p.send(0)
	watch := time.NewTicker(p.lc.Timeout)
	defer watch.Stop()
	end := time.NewTimer(p.lc.Warmup + p.lc.Duration + p.lc.Timeout)
	defer end.Stop()
	last := uint64(0)
	for {
		select {
		case <-p.finished:
			return nil
		case <-ctx.Done():
			p.stopped.Store(true)
			return nil
		case <-end.C:
			p.stopped.Store(true)
			return nil
		case <-watch.C:
			seq := p.cur.Load()
			if seq != last {
				last = seq
				continue
			}
			if perr := p.sendErr.Load(); perr != nil && p.samples.Load() == 0 {
				return fmt.Errorf("sending pings: %w", *perr)
			}
			if p.due() {
				p.stopped.Store(true)
				return nil
			}
			if p.cur.CompareAndSwap(seq, seq+1) {
				p.lost.Add(1)
				last = seq + 1
				p.send(seq + 1)
			}
		}
	}
}

// fill copies the figures into res; the client must be closed first, so
// the delivery goroutine no longer touches the recorder.
func (p *pinger) fill(res *LatencyResult) {
	p.frame.Release()
	res.Lost = p.lost.Load()
	p.rec.fill(res, p.base)
}
