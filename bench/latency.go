package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/internal/wire"
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
	Network *Namespaces
	// XDP names the interface and queue of the xdp transport towards Host;
	// in Network the veth ends are used.
	XDP   XDP
	NoPin bool
	// Timeout is how long a ping may go unanswered before it counts as
	// lost and the next is sent (default 200 ms).
	Timeout  time.Duration
	BusyPoll int
}

// Defaults of a LatencyCase.
const (
	DefaultLatencyPayload = 64
	DefaultLatencyTimeout = 200 * time.Millisecond
)

// LatencyResult holds round-trip times in microseconds.
type LatencyResult struct {
	Test    TestInfo `json:"test"`
	Samples uint64   `json:"samples"`
	// Lost counts pings that went unanswered within the timeout.
	Lost   uint64  `json:"lost"`
	MinUs  float64 `json:"min_us"`
	MeanUs float64 `json:"mean_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p99_9_us"`
	// P9999Us is the 99.99th percentile.
	P9999Us float64 `json:"p99_99_us"`
	MaxUs   float64 `json:"max_us"`
	Error   string  `json:"error,omitempty"`
}

func (lc LatencyCase) withDefaults() LatencyCase {
	if lc.Payload == 0 {
		lc.Payload = DefaultLatencyPayload
	}
	if lc.Duration == 0 {
		lc.Duration = DefaultDuration
	}
	if lc.Batch == 0 {
		lc.Batch = DefaultBatch
	}
	if lc.Transport == udp.TransportNaive {
		lc.Batch = 1
	}
	if lc.Timeout == 0 {
		lc.Timeout = DefaultLatencyTimeout
	}
	return lc
}

func (lc LatencyCase) validate() error {
	var errs []error
	if err := CheckTransport(lc.Transport); err != nil {
		errs = append(errs, err)
	}
	if lc.Payload < wire.HeaderLen || lc.Payload > udp.MaxPayloadJumbo {
		errs = append(errs, fmt.Errorf("ping size %d outside %d..%d", lc.Payload, wire.HeaderLen, udp.MaxPayloadJumbo))
	}
	if lc.Count < 0 || lc.Duration < 0 || lc.Timeout < 0 {
		errs = append(errs, errors.New("count, duration and timeout must not be negative"))
	}
	if lc.Batch < 1 || lc.Batch > udp.MaxBatch {
		errs = append(errs, fmt.Errorf("batch %d outside 1..%d", lc.Batch, udp.MaxBatch))
	}
	if lc.Transport == udp.TransportXDP {
		switch {
		case lc.Host == "" && lc.Network == nil:
			errs = append(errs, errors.New("transport xdp runs across a veth pair: use Network (--netns)"))
		case lc.Host != "" && lc.XDP.Iface == "":
			errs = append(errs, ErrXDPNeedsInterface)
		}
	}
	return errors.Join(errs...)
}

// Latency measures round trips for one case.
func Latency(ctx context.Context, lc LatencyCase) (LatencyResult, error) {
	lc = lc.withDefaults()
	c := Case{Transport: lc.Transport, Payload: lc.Payload, Batch: lc.Batch, Duration: lc.Duration, Network: lc.Network, XDP: lc.XDP}.withDefaults()
	res := LatencyResult{Test: c.testInfo()}
	fail := func(err error) (LatencyResult, error) {
		res.Error = err.Error()
		return res, err
	}
	if err := lc.validate(); err != nil {
		return fail(err)
	}
	opts := c.endpointOptions()
	if lc.BusyPoll > 0 {
		opts = append(opts, udp.WithBusyPoll(lc.BusyPoll))
	}
	txCPU, rxCPU := pinPlan(lc.NoPin)
	var client *udp.Client
	if lc.Host != "" {
		res.Test.Network = fmt.Sprintf("%s:%d", lc.Host, lc.Port)
		var err error
		if client, err = udp.NewClient(lc.Host, lc.Port, c.Jumbo(), opts...); err != nil {
			return fail(err)
		}
	} else {
		server, cl, err := c.openPair()
		if err != nil {
			return fail(err)
		}
		defer server.Close()
		echo, err := newReceiver(server, server, rxCPU, false)
		if err != nil {
			cl.Close()
			return fail(err)
		}
		engine.Connect(server, echo)
		defer echo.restoreAffinity()
		client = cl
	}
	defer client.Close()

	p, err := newPinger(client, lc, txCPU)
	if err != nil {
		return fail(err)
	}
	engine.Connect(client, p)
	if err := p.run(ctx); err != nil {
		return fail(err)
	}
	client.Close()
	p.affinity.Restore()
	p.fill(&res)
	if res.Samples == 0 {
		return fail(fmt.Errorf("no ping was answered (%d lost)", res.Lost))
	}
	return res, nil
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

	hist     *hdrhistogram.Histogram // written by the delivery goroutine only
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
		// 100 ns to 10 s at three significant digits.
		hist: hdrhistogram.New(100, int64(10*time.Second), 3),
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
	return (p.lc.Count > 0 && p.samples.Load() >= uint64(p.lc.Count)) || time.Since(p.base) >= p.lc.Duration
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
	p.hist.RecordValue(max(int64(now)-int64(m.B), 1))
	p.samples.Add(1)
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
	end := time.NewTimer(p.lc.Duration + p.lc.Timeout)
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
// the delivery goroutine no longer touches the histogram.
func (p *pinger) fill(res *LatencyResult) {
	p.frame.Release()
	h := p.hist
	res.Samples, res.Lost = p.samples.Load(), p.lost.Load()
	if h.TotalCount() == 0 {
		return
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	res.MinUs, res.MaxUs, res.MeanUs = us(h.Min()), us(h.Max()), h.Mean()/1e3
	res.P50Us = us(h.ValueAtQuantile(50))
	res.P90Us = us(h.ValueAtQuantile(90))
	res.P99Us = us(h.ValueAtQuantile(99))
	res.P999Us = us(h.ValueAtQuantile(99.9))
	res.P9999Us = us(h.ValueAtQuantile(99.99))
}
