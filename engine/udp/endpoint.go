package udp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/ring"
)

// endpoint is what Server and Client share: the options, the master, the
// peer and allow-list (rxRules), the transmit checks and counters
// (txRules), the transmit queue and the shutdown order. The data path is
// its transport.
type endpoint struct {
	rxRules // handed to the transport's receive side
	txRules // handed to the transport's transmit side

	cfg        endpointConfig
	slave      engine.BaseSlave // counters and debug dump of AcceptFrame
	maxPayload int
	mtu        int
	log        *rateLog

	tp     transport    // socketPath, or xdpPath for TransportXDP
	txPool *engine.Pool // MaxPayload buffers lent by AcceptReq and ReqFrame (AF_XDP: the UMEM)
	txq    *ring.MPMC[engine.Frame]

	closeOnce sync.Once
	closeErr  error
	rxWG      sync.WaitGroup // the transport's receive goroutines
	txWG      sync.WaitGroup
}

// newEndpoint checks the options and fills the rules; the caller opens
// the transport with open.
func newEndpoint(m *engine.Master, jumbo, client bool, opts []Option) (*endpoint, error) {
	if !udpSupported {
		return nil, fmt.Errorf("udp: the UDP server and client need Linux")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(client); err != nil {
		return nil, err
	}
	e := &endpoint{cfg: cfg, log: newRateLog(cfg.logger)}
	e.slave.SetLogger(cfg.logger)
	e.master, e.client, e.allow, e.lockThread = m, client, newAllowList(cfg.allowed), cfg.lockThread
	e.rxRules.log, e.txRules.log = e.log, e.log
	e.setMaxPayload(MaxPayloadStandard)
	if jumbo {
		e.setMaxPayload(MaxPayloadJumbo)
	}
	e.timeout.Store(int64(DefaultTimeout))
	return e, nil
}

// setMaxPayload sets the largest datagram payload, for the endpoint and
// both rules; the transport may lower it (AF_XDP: the interface's MTU)
// before it is opened.
func (e *endpoint) setMaxPayload(n int) {
	e.maxPayload, e.rxRules.maxPayload, e.txRules.maxPayload = n, n, n
	e.mtu = n + udpIPOverhead
}

// open opens the transport (a server's bound to port, a client's aimed at
// remote) and the transmit pool, which is the UMEM for TransportXDP and
// MaxPayload buffers otherwise, and runs them. This is the one place the
// transport is chosen.
func (e *endpoint) open(port int, remote netip.AddrPort) error {
	e.remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	var tp transport
	var pool *engine.Pool
	var err error
	if e.cfg.transport == TransportXDP {
		tp, pool, err = e.openXDP(port)
	} else {
		tp, pool, err = e.openSockets(port)
	}
	if err != nil {
		return err
	}
	return e.run(tp, pool)
}

// run makes the opened tp the endpoint's transport, with pool as the
// transmit pool, starts the transmit queue, then the transport's receive
// goroutines. On failure it stops tp again.
func (e *endpoint) run(tp transport, pool *engine.Pool) error {
	e.tp, e.txPool = tp, pool
	if err := e.startTxQueue(); err != nil {
		tp.shutdown()
		tp.finish()
		return err
	}
	tp.start(&e.rxWG)
	return nil
}

// openSockets opens the socket path and its transmit pool.
func (e *endpoint) openSockets(port int) (transport, *engine.Pool, error) {
	p, err := newSocketPath(e.cfg, &e.rxRules, &e.txRules, e.mtu)
	if err != nil {
		return nil, nil, err
	}
	if e.client {
		err = p.dial(e.remote)
	} else {
		err = p.listen(port)
	}
	if err != nil {
		return nil, nil, err
	}
	pool, err := engine.NewFixedPool(e.maxPayload, e.cfg.poolSize, 0)
	if err != nil {
		p.shutdown()
		return nil, nil, err
	}
	return p, pool, nil
}

// startTxQueue makes the transmit queue of WithTxQueue and starts the
// goroutine that drains it.
func (e *endpoint) startTxQueue() error {
	if e.cfg.txQueue == 0 {
		return nil
	}
	q, err := ring.NewMPMC[engine.Frame](ceilPow2(max(e.cfg.txQueue, 2)))
	if err != nil {
		return fmt.Errorf("udp: transmit queue: %w", err)
	}
	e.txq = q
	e.txWG.Add(1)
	go e.txLoop()
	return nil
}

// localAddr is the transport's bound address.
func (e *endpoint) localAddr() netip.AddrPort {
	if e.tp == nil {
		return netip.AddrPort{}
	}
	return e.tp.localAddr()
}

// setRxBufferCount asks the transport for n MTUs of receive buffering.
func (e *endpoint) setRxBufferCount(n int) bool { return e.tp.setRxBufferCount(n) }

// setTimeout sets the transmit wait.
func (e *endpoint) setTimeout(usec uint32) {
	e.timeout.Store(int64(usec) * int64(time.Microsecond))
}

// stats sums the transmit counters and the transport's own.
func (e *endpoint) stats() Stats {
	st := Stats{Transport: e.cfg.transport, Batch: e.cfg.batch}
	st.addTx(&e.tx)
	return e.tp.addStats(st)
}

// close stops everything the endpoint started, in an order that loses
// nothing silently: queued transmissions are flushed (waiting at most one
// transmit timeout in all), the transport is shut down, which wakes the
// receive goroutines at once, queued received frames are delivered, the
// transport frees what its goroutines used, and the master is closed.
// Concurrent and repeated calls wait for the first.
func (e *endpoint) close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.closeBy.Store(time.Now().Add(time.Duration(e.timeout.Load())).UnixNano())
		e.flushTxQueue()
		e.stats() // the kernel's drop counters, before the sockets go
		errs := []error{e.tp.shutdown()}
		e.rxWG.Wait()
		errs = append(errs, e.tp.finish())
		e.master.Close()
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// flushTxQueue closes the transmit queue and waits for its goroutine to
// send what was queued; frames pushed after it drained the ring are
// counted as errors.
func (e *endpoint) flushTxQueue() {
	if e.txq == nil {
		return
	}
	e.txq.Close()
	e.txWG.Wait()
	for {
		f, ok := e.txq.TryPop()
		if !ok {
			return
		}
		e.tx.errors.Add(1)
		f.Release()
	}
}

// acceptReq serves AcceptReq and ReqFrame from the transmit pool.
func (e *endpoint) acceptReq(size int, zeroCopy bool) (engine.Frame, error) {
	if e.closed.Load() {
		return engine.Frame{}, engine.ErrClosed
	}
	return e.txPool.AcceptReq(size, zeroCopy)
}
