package natsjs

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"udpstream.dev/engine"
)

// Publisher is a Slave that publishes every frame it accepts to JetStream,
// on subject Prefix.<channel>, packed with the frames before and after it
// on the same channel into messages of up to BatchBytes (see the message
// format in format.go). A partly filled message is sent after Linger.
//
// Messages are published asynchronously, each with a Nats-Msg-Id, and
// their acks awaited in order by one goroutine. A message whose publish
// fails or whose ack does not come within AckTimeout is sent again, with
// the messages after it, until it is acknowledged or RetryFor has passed;
// the server's de-duplication keeps a resent message stored once.
//
// Sealed, unacknowledged messages hold at most MaxPendingBytes (one
// message larger than that may be outstanding alone). When a frame needs
// a new message and there is no room, AcceptFrame blocks up to MaxWait,
// then drops the frame (DroppedFull); from then on it drops without
// waiting until room appears, so a stalled server costs the caller one
// MaxWait, not one per frame. Every frame is counted (PublisherStats).
//
// AcceptFrame copies the frame and may be called from several goroutines;
// it does not allocate in steady state.
type Publisher struct {
	opts   PublisherOptions
	nc     *nats.Conn
	js     jetstream.JetStream
	run    uint64
	runID  string
	maxMsg int // largest message body the server takes

	mu        sync.Mutex // guards the fields below it, held by AcceptFrame
	open      [256]*batch
	seq       [256]uint64
	subjects  [256]string
	closed    bool
	shedding  bool
	waitTimer *time.Timer // reserve's, stopped when idle

	free *freeList     // recycled batches of BatchBytes
	room chan struct{} // signalled when pending bytes fall to lowWater
	// lowWater is the pending bytes at or below which a settled message
	// wakes a waiting AcceptFrame.
	lowWater int64
	epoch    atomic.Uint64 // connections lost so far
	queue    sendQueue
	stop     chan struct{}
	done     chan struct{}
	c        pubCounters
}

// batch is one message being filled, then in flight.
type batch struct {
	buf     []byte
	channel uint8
	frames  uint32
	bytes   uint64 // payload bytes of its frames
	opened  time.Time
	// set by the sender
	msg       *nats.Msg
	fut       jetstream.PubAckFuture
	ack       *jetstream.PubAck // an ack taken early, while resending
	sent      time.Time
	epoch     uint64 // Publisher.epoch when last sent
	failedAt  time.Time
	sendError error
}

// NewPublisher checks opts, connects, finds or creates the stream and
// starts the sender. It fails with ErrBadURL, ErrOptions, ErrConnect or
// ErrStream within about ConnectTimeout.
func NewPublisher(opts PublisherOptions) (*Publisher, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	p := makePublisher(opts)
	if err := p.connect(); err != nil {
		return nil, err
	}
	go p.sender()
	return p, nil
}

// makePublisher sets up a Publisher of checked opts, not yet connected.
func makePublisher(opts PublisherOptions) *Publisher {
	p := &Publisher{opts: opts, room: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	p.queue.notify = make(chan struct{}, 1)
	p.waitTimer = time.NewTimer(time.Hour)
	p.waitTimer.Stop()
	p.free = newFreeList(opts.MaxPendingBytes/opts.BatchBytes + 256)
	// A waiting AcceptFrame is woken once a quarter of the bound (at
	// least a batch) is free, not at every settled message: it then seals
	// several batches per wake, and the sender takes them in one go.
	p.lowWater = int64(opts.MaxPendingBytes - max(opts.MaxPendingBytes/4, opts.BatchBytes))
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	p.run = binary.LittleEndian.Uint64(rnd[:])
	p.runID = strconv.FormatUint(p.run, 36) + "-"
	return p
}

func (p *Publisher) connect() error {
	// Without the client's reconnect buffer a publish fails while the
	// connection is down, and the sender resends in order once it is back
	// (see sender); with it, messages queued during the outage would reach
	// the server before the ones lost in the outage are resent.
	nc, _, err := dial(&p.opts.Conn, "udpstream publisher "+p.opts.Prefix,
		func() { p.epoch.Add(1) }, nats.ReconnectBufSize(-1))
	if err != nil {
		return err
	}
	js, err := jetstream.New(nc,
		jetstream.WithDefaultTimeout(p.opts.ConnectTimeout),
		jetstream.WithPublishAsyncTimeout(p.opts.AckTimeout),
		jetstream.WithPublishAsyncMaxPending(1<<20))
	if err == nil {
		_, err = ensureStream(js, &p.opts.Conn)
	}
	if err == nil {
		err = checkSubjects(js, &p.opts.Conn)
	}
	if err != nil {
		nc.Close()
		return err
	}
	p.nc, p.js = nc, js
	p.maxMsg = int(nc.MaxPayload()) - headerReserve
	if p.opts.BatchBytes > p.maxMsg {
		nc.Close()
		return fmt.Errorf("%w: batch %d bytes, the server takes messages of up to %d with headers",
			ErrOptions, p.opts.BatchBytes, p.maxMsg)
	}
	return nil
}

// Run is the publisher's random identity, carried in every message.
func (p *Publisher) Run() uint64 { return p.run }

// Stats returns a snapshot of the counters.
func (p *Publisher) Stats() PublisherStats { return p.c.snapshot() }

// AcceptFrame batches a copy of f for publishing; see Publisher.
func (p *Publisher) AcceptFrame(f engine.Frame) {
	n := f.Payload()
	p.c.frames.Add(1)
	p.c.bytes.Add(uint64(n))
	if n == 0 && !f.Valid() { // a released frame has no payload
		p.c.droppedInvalid.Add(1)
		return
	}
	rec := RecordHeaderLen + n
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		p.c.droppedClosed.Add(1)
		return
	case MsgHeaderLen+rec > p.maxMsg:
		p.c.droppedOversize.Add(1)
		return
	}
	ch := f.Channel()
	b := p.open[ch]
	if b != nil && len(b.buf)+rec > cap(b.buf) {
		if !p.sealLocked(b, true) {
			p.c.droppedFull.Add(1)
			return
		}
		b = nil
	}
	if b == nil {
		b = p.newBatch(ch, rec)
		p.open[ch] = b
	}
	seq := p.seq[ch] + 1
	var err error
	if b.buf, err = appendRecord(b.buf, f, n, seq); err != nil {
		p.c.droppedInvalid.Add(1)
		return
	}
	p.seq[ch] = seq
	b.frames++
	b.bytes += uint64(n)
	p.c.batched.Add(1)
}

// newBatch returns an empty batch for channel ch with room for a record
// of rec bytes: a recycled one when the record fits BatchBytes.
func (p *Publisher) newBatch(ch uint8, rec int) *batch {
	var b *batch
	if need := MsgHeaderLen + rec; need > p.opts.BatchBytes {
		b = &batch{buf: make([]byte, 0, need)}
	} else {
		if b = p.free.get(); b == nil {
			b = &batch{buf: make([]byte, 0, p.opts.BatchBytes)}
		}
	}
	b.buf = b.buf[:MsgHeaderLen]
	b.channel, b.frames, b.bytes = ch, 0, 0
	b.opened = time.Now()
	return b
}

// recycle returns a settled batch to the free list if it is of the
// standard size and the list has room.
func (p *Publisher) recycle(b *batch) {
	if cap(b.buf) != p.opts.BatchBytes {
		return
	}
	b.msg, b.fut, b.ack, b.sendError = nil, nil, nil, nil
	b.failedAt = time.Time{}
	p.free.put(b)
}

// sealLocked closes batch b of its channel and queues it for sending once
// its bytes fit under MaxPendingBytes, waiting for room if wait is set
// (see Publisher). It reports whether b was sealed; if not, b stays open.
func (p *Publisher) sealLocked(b *batch, wait bool) bool {
	if !p.reserve(len(b.buf), wait) {
		return false
	}
	p.sealForced(b)
	return true
}

// reserve counts size bytes as pending if they fit the bound, waiting up
// to MaxWait for the sender to settle messages when wait is set and the
// publisher is not shedding. Called with mu held: the sender never takes
// mu while it could block, so the wait ends.
func (p *Publisher) reserve(size int, wait bool) bool {
	armed := false
	defer func() {
		if armed {
			p.waitTimer.Stop()
		}
	}()
	for {
		cur := p.c.pendingBytes.Load()
		if cur == 0 || cur+int64(size) <= int64(p.opts.MaxPendingBytes) {
			p.c.pendingBytes.Add(int64(size))
			p.shedding = false
			return true
		}
		if !wait || p.shedding {
			return false
		}
		if !armed {
			p.waitTimer.Reset(p.opts.MaxWait)
			armed = true
		}
		select {
		case <-p.room:
		case <-p.waitTimer.C:
			p.shedding = true
			return false
		case <-p.stop:
			return false
		}
	}
}

// Close sends what is batched, waits up to CloseTimeout for the
// outstanding acks, counts what is left as Unacked, and disconnects.
// Later frames are counted in DroppedClosed. It is safe to call more than
// once, and returns within about MaxWait + CloseTimeout.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.done
		return nil
	}
	p.closed = true
	for _, b := range p.open {
		if b != nil {
			p.c.pendingBytes.Add(int64(len(b.buf))) // may pass the bound: the last ones
			p.sealForced(b)
		}
	}
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	p.nc.Close()
	return nil
}

// sealForced seals b without reserving (its bytes are already counted).
func (p *Publisher) sealForced(b *batch) {
	putHeader(b.buf, Header{Count: b.frames, Run: p.run})
	p.open[b.channel] = nil
	if p.subjects[b.channel] == "" {
		p.subjects[b.channel] = p.opts.Prefix + "." + strconv.Itoa(int(b.channel))
	}
	p.queue.push(b)
}
