package rssi

import (
	"sync"
	"sync/atomic"
	"time"

	"udpstream.dev/engine"
)

// State is a link's state, Rogue's numbering.
type State int

// Link states.
const (
	StateClosed  State = 0 // client: about to send a SYN; server: waiting for one
	StateWaitSyn State = 1 // client: SYN sent, waiting for SYN+ACK
	StateOpen    State = 4
)

func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateWaitSyn:
		return "wait-syn"
	case StateOpen:
		return "open"
	}
	return "unknown"
}

// Stats are a Controller's counters since it was made. Segments are RSSI
// datagrams.
type Stats struct {
	State       State
	Open        bool
	Params      Params // negotiated (valid once opened)
	MaxSegment  int    // largest datagram sent on the current link
	Outstanding int    // segments sent and not yet acknowledged

	TxSegments      uint64 // data segments sent the first time (not NULs)
	Retransmits     uint64 // data and NUL segments sent again
	FastRetransmits uint64 // of Retransmits: sent again on a repeated ACK, before the timer
	RxSegments      uint64 // data segments delivered to the application
	Drops           uint64 // received datagrams discarded: BadHeaders, Duplicates, data outside Open, a SYN the state does not take, an in-order segment the full application queue cannot take (the peer resends it)
	BadHeaders      uint64 // of Drops: short, bad length or bad checksum
	Duplicates      uint64 // of Drops: sequence already delivered or beyond the window
	OutOfOrder      uint64 // segments held until the gap before them closed
	Resets          uint64 // times this end took an open link down (retransmit limit, or a BUSY peer silent for twice the null timeout)
	PeerResets      uint64 // times the peer's RST closed the link (a peer's Close, or its reset)
	Opens           uint64 // times the link opened
	Restarts        uint64 // server: a client's new SYN replaced the open link (it reconnected after data flowed)
	SynRetries      uint64 // handshake mended on the open link: server, a client's SYN retry answered with the same SYN+ACK; client, a later SYN+ACK adopted, or its last SYN sent again (see docs/rssi.md)
	BusyTx          uint64 // segments sent with BUSY set
	BusyRx          uint64 // segments received with BUSY set
	TxRefused       uint64 // application segments not sent: link not open, too large, or Close
	TxErrors        uint64 // datagrams the transport could not allocate
	DupAcks         uint64 // ACKs sent in answer to duplicates or gaps (Rogue sends none)
	Flushed         uint64 // received segments a reset or Close discarded before the application took them
	Abandoned       uint64 // sent data segments a reset or Close forgot unacknowledged
}

// Controller is one end of an RSSI link. Make it with NewClient or
// NewServer, connect Transport both ways to the UDP endpoint and
// Application both ways to the layer above, and Close it when done.
type Controller struct {
	opts   Options
	server bool
	tr     Transport
	app    Application
	pool   *engine.Pool

	mu    sync.Mutex
	space *sync.Cond // window space or a state change
	st    State
	lk    link
	epoch uint32 // counts links, so that queued segments of an old one are dropped
	stats Stats

	// transmit
	nextSeq   uint8 // next sequence to consume
	base      uint8 // oldest unacknowledged
	outstand  int
	ring      [256]txEntry
	peerBusy  bool
	lastTx    time.Time
	lastAckTx uint8 // acknowledge carried by the last segment sent
	synAt     time.Time
	dupAckAt  time.Time
	synAck    uint8 // server: sequence of the SYN+ACK that opened the link
	synAcked  bool  // server: the client acknowledged that SYN+ACK
	lastSyn   uint8 // client: sequence of the last SYN sent
	synTries  int   // client: SYNs sent since the link was last closed

	// receive
	busyRxAt  time.Time // last datagram received with BUSY
	nextRx    uint8
	peerSyn   uint8 // sequence of the SYN (SYN+ACK) that opened the link
	delivered uint8 // last sequence the application side took
	held      [256]heldEntry
	rxq       chan rxItem
	scratch   []byte

	// datagrams waiting to be sent outside the lock (flush.go)
	txq      []engine.Frame
	txSpare  []engine.Frame
	flushing bool       // a goroutine is sending txq
	corks    int        // Application.Cork calls not yet undone
	flushed  *sync.Cond // flushing ended

	done   chan struct{}
	retick chan struct{} // the link's timeouts changed
	closed bool
	wg     sync.WaitGroup
}

type txEntry struct {
	f     engine.Frame // application segment; zero for a NUL
	sent  time.Time
	count int // transmissions so far
	nul   bool
}

type heldEntry struct {
	f   engine.Frame
	nul bool
	ok  bool
}

type rxItem struct {
	f     engine.Frame
	seq   uint8
	nul   bool
	epoch uint32
}

// Transport is a Controller's side towards UDP: connect it to a
// udp.Client or udp.Server both ways (engine.Connect(tr, udp) and
// engine.Connect(udp, tr)).
type Transport struct {
	engine.Master
	c     *Controller
	batch atomic.Pointer[batcher] // the single slave, when it sends batches
}

// AcceptFrame takes one received datagram. Its header is pulled off the
// frame before the payload goes up.
func (t *Transport) AcceptFrame(f engine.Frame) { t.c.receive(f) }

// Application is a Controller's side towards the layer above (the
// packetizer): frames it accepts are sent as one segment each, and
// frames it emits are received segments, in order, without the RSSI
// header.
type Application struct {
	engine.Master
	c *Controller
}

// AcceptFrame sends f as one segment. It blocks while the window is full
// and refuses (counting TxRefused, and setting the frame's error to
// TxErrorCode) when the link is not open or f exceeds MaxPayload.
func (a *Application) AcceptFrame(f engine.Frame) { a.c.send(f) }

// AcceptReq returns a frame for one segment of up to MaxPayload bytes from
// the controller's pool.
func (a *Application) AcceptReq(size int, zeroCopy bool) (engine.Frame, error) {
	return a.c.pool.AcceptReq(size, zeroCopy)
}

// MaxPayload is the largest segment payload the current link carries
// (negotiated segment size - 8; before opening, this end's own).
func (a *Application) MaxPayload() int {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st == StateOpen {
		return c.lk.seg - HeaderSize
	}
	return c.opts.MaxSegment - HeaderSize
}

// TxErrorCode is the error code set on an application frame the link
// refused.
const TxErrorCode uint8 = 0x01

// initialSeq is the first sequence number of both ends, as Rogue's.
const initialSeq = 100

// NewClient makes a Controller in the client role: once its Transport is
// connected it sends a SYN every TryPeriod until a server answers, and
// reconnects the same way after a reset.
func NewClient(opts Options) (*Controller, error) { return newController(opts, false) }

// NewServer makes a Controller in the server role: it waits for a
// client's SYN.
func NewServer(opts Options) (*Controller, error) { return newController(opts, true) }

func newController(opts Options, server bool) (*Controller, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	pool, err := engine.NewFixedPool(o.MaxSegment-HeaderSize, 4*maxWindow, 0)
	if err != nil {
		return nil, err
	}
	c := &Controller{
		opts: o, server: server, pool: pool, nextSeq: initialSeq,
		lk:      adopt(o.params(), o.MaxSegment),
		rxq:     make(chan rxItem, 2*maxWindow+8),
		done:    make(chan struct{}),
		retick:  make(chan struct{}, 1),
		scratch: make([]byte, SynHeaderSize),
	}
	c.space = sync.NewCond(&c.mu)
	c.flushed = sync.NewCond(&c.mu)
	c.txq = make([]engine.Frame, 0, 2*maxWindow)
	c.txSpare = make([]engine.Frame, 0, 2*maxWindow)
	c.tr.c, c.app.c = c, c
	c.wg.Add(2)
	go c.timerLoop()
	go c.deliverLoop()
	return c, nil
}

// Transport is the side to connect to the UDP endpoint.
func (c *Controller) Transport() *Transport { return &c.tr }

// Application is the side to connect to the layer above.
func (c *Controller) Application() *Application { return &c.app }

// IsOpen reports whether the link is open.
func (c *Controller) IsOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st == StateOpen
}

// Stats returns a snapshot of the counters and the link state.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.State, s.Open = c.st, c.st == StateOpen
	s.Params, s.MaxSegment, s.Outstanding = c.lk.p, c.lk.seg, c.outstand
	return s
}

// Close sends an RST if the link is open, stops the controller's
// goroutines, releases every frame it holds and closes both sides. It
// returns once the goroutines have ended; the delivery goroutine ends
// after the application's AcceptFrame in progress, if any, returns.
func (c *Controller) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	if c.st == StateOpen {
		c.sendRST()
	}
	c.closed = true
	c.dropLink()
	c.space.Broadcast()
	close(c.done)
	c.flushLocked() // the RST, corked or not
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	c.waitFlushed() // another goroutine's send in progress
	c.mu.Unlock()
	c.drainQueue()
	c.tr.Close()
	c.app.Close()
	return nil
}

// dropLink forgets the current link: every held or unacknowledged frame
// is released and queued segments become stale. Called with mu held.
func (c *Controller) dropLink() {
	for i := range c.ring {
		if e := &c.ring[i]; e.f.Valid() {
			c.stats.Abandoned++
			e.f.Release()
		}
		c.ring[i] = txEntry{}
	}
	for i := range c.held {
		if e := &c.held[i]; e.ok {
			c.stats.Flushed++
			if e.f.Valid() {
				e.f.Release()
			}
		}
		c.held[i] = heldEntry{}
	}
	c.outstand, c.base, c.peerBusy = 0, c.nextSeq, false
	c.epoch++
}

// drainQueue releases segments left in the delivery queue after Close.
func (c *Controller) drainQueue() {
	for {
		select {
		case it := <-c.rxq:
			c.mu.Lock()
			c.stats.Flushed++
			c.mu.Unlock()
			if it.f.Valid() {
				it.f.Release()
			}
		default:
			return
		}
	}
}

// goDown ends an open link as Rogue does: an RST, then Closed (a client
// then reconnects). peer tells whether the peer's RST closed it. Called
// with mu held.
func (c *Controller) goDown(peer bool) {
	c.sendRST()
	c.dropLink()
	c.st = StateClosed
	if peer {
		c.stats.PeerResets++
	} else {
		c.stats.Resets++
	}
	c.synAt = time.Time{}
	c.space.Broadcast()
}
