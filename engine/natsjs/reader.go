package natsjs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"udpstream.dev/engine"
)

// Reader is a Master that reads a stream written by a Publisher and sends
// its frames again, each with the payload, channel, flags and error it had,
// to its slaves in stream order. It pulls from a consumer (durable when
// ReaderOptions.Durable is set) and acknowledges each message after its
// frames were sent, so a durable reader made again resumes after the last
// message it finished. The slaves' pace is the reader's: a slow slave
// slows the pulls, and the stream keeps what is not read yet.
type Reader struct {
	engine.Master
	opts ReaderOptions
	nc   *nats.Conn
	cons jetstream.Consumer
	it   jetstream.MessagesContext

	// per (run, channel) sequence tracking; the reading goroutine only
	run  uint64
	next [256]uint64

	mu       sync.Mutex
	lastRead time.Time
	attached chan struct{} // closed when the first slave is attached
	attach   sync.Once
	closing  chan struct{}
	done     chan struct{}
	c        readCounters
}

// NewReader checks opts, connects, and finds or creates the stream and its
// consumer. Reading starts when the first slave is attached (AddSlave, or
// engine.Connect), so no frame is read before something can take it.
func NewReader(opts ReaderOptions) (*Reader, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	r := &Reader{opts: opts, attached: make(chan struct{}), closing: make(chan struct{}), done: make(chan struct{})}
	r.SetPool(opts.Pool)
	if err := r.connect(); err != nil {
		return nil, err
	}
	go r.loop()
	return r, nil
}

func (r *Reader) connect() error {
	nc, js, err := dial(&r.opts.Conn, "udpstream reader "+r.opts.Prefix, nil)
	if err != nil {
		return err
	}
	s, err := ensureStream(js, &r.opts.Conn)
	if err == nil {
		r.cons, err = r.consumer(s)
	}
	if err == nil {
		r.it, err = r.cons.Messages(jetstream.PullMaxBytes(r.opts.PullBytes))
		if err != nil {
			err = fmt.Errorf("%w: pulling from %q: %w", ErrStream, r.opts.Stream, err)
		}
	}
	if err != nil {
		nc.Close()
		return err
	}
	r.nc = nc
	return nil
}

// consumer finds the durable consumer, or creates the consumer from the
// start options.
func (r *Reader) consumer(s jetstream.Stream) (jetstream.Consumer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.ConnectTimeout)
	defer cancel()
	if r.opts.Durable != "" {
		c, err := s.Consumer(ctx, r.opts.Durable)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("%w: consumer %q: %w", ErrStream, r.opts.Durable, err)
		}
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       r.opts.Durable,
		FilterSubject: r.opts.Prefix + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch {
	case r.opts.StartSeq != 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, r.opts.StartSeq
	case !r.opts.StartTime.IsZero():
		t := r.opts.StartTime
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	if r.opts.Durable == "" {
		cfg.InactiveThreshold = time.Minute
	}
	cfg.AckWait = ackWait
	c, err := s.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: creating consumer on %q: %w", ErrStream, r.opts.Stream, err)
	}
	return c, nil
}

// Stats returns a snapshot of the counters.
func (r *Reader) Stats() ReaderStats { return r.c.snapshot() }

// LastRead is when the last message arrived (zero before the first).
func (r *Reader) LastRead() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastRead
}

// Close stops reading: the frame being sent finishes, the messages the
// client holds and has not sent are handed back to the server (so a
// durable reader made again gets them first), and the connection closes.
// It is safe to call more than once.
func (r *Reader) Close() error {
	select {
	case <-r.closing:
	default:
		close(r.closing)
		r.it.Drain()
	}
	<-r.done
	_ = r.nc.FlushTimeout(time.Second) // the last acks and naks
	r.nc.Close()
	r.Master.Close()
	return nil
}

// AddSlave attaches s; the first slave attached starts the reading.
func (r *Reader) AddSlave(s engine.Slave) {
	r.Master.AddSlave(s)
	r.attach.Do(func() { close(r.attached) })
}

func (r *Reader) loop() {
	defer close(r.done)
	select {
	case <-r.attached:
	case <-r.closing:
		return
	}
	for {
		msg, err := r.it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			r.c.errors.Add(1)
			r.pauseAfter(err) // the library reconnects and pulls again
			continue
		}
		select {
		case <-r.closing:
			_ = msg.Nak()
			continue
		default:
		}
		r.handle(msg)
		_ = msg.Ack()
	}
}

// pauseAfter logs a pull error and waits a little (or until Close)
// before the next pull, so a lasting error is not a busy loop.
func (r *Reader) pauseAfter(err error) {
	r.opts.Logger.Warn("natsjs: pull failed", "stream", r.opts.Stream, "err", err)
	t := time.NewTimer(retryPause)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.closing:
	}
}

// handle sends the frames of one message.
func (r *Reader) handle(msg jetstream.Msg) {
	r.c.messages.Add(1)
	if md, err := msg.Metadata(); err == nil {
		r.c.lastSeq.Store(md.Sequence.Stream)
	}
	r.mu.Lock()
	r.lastRead = time.Now()
	r.mu.Unlock()
	data := msg.Data()
	h, err := ParseHeader(data)
	if err == nil {
		err = checkRecords(data, h.Count)
	}
	if err != nil {
		r.c.malformed.Add(1)
		r.opts.Logger.Warn("natsjs: malformed message dropped", "subject", msg.Subject(), "err", err)
		return
	}
	if h.Run != r.run {
		r.run = h.Run
		r.next = [256]uint64{}
		r.c.runs.Add(1)
	}
	off := MsgHeaderLen
	for range h.Count {
		rec := decodeRecord(data[off:])
		off += RecordHeaderLen + int(rec.Size)
		r.track(rec)
		r.emit(rec)
	}
}

// track counts gaps and backward steps in a channel's sequence.
func (r *Reader) track(rec Record) {
	want := r.next[rec.Channel]
	switch {
	case want == 0 || rec.Seq == want:
	case rec.Seq > want:
		r.c.gaps.Add(rec.Seq - want)
	default:
		r.c.backward.Add(1)
		return // keep the highest seen
	}
	r.next[rec.Channel] = rec.Seq + 1
}

// emit rebuilds a frame from rec and sends it.
func (r *Reader) emit(rec Record) {
	f, err := r.ReqFrame(int(rec.Size), true)
	if err != nil {
		r.c.poolExhausted.Add(1)
		return
	}
	defer f.Release()
	if len(rec.Payload) > 0 {
		if _, err := f.Write(rec.Payload); err != nil {
			r.c.poolExhausted.Add(1)
			return
		}
	}
	_ = f.SetChannel(rec.Channel)
	_ = f.SetFlags(rec.Flags)
	_ = f.SetError(rec.Error)
	r.c.frames.Add(1)
	r.c.bytes.Add(uint64(rec.Size))
	_ = r.SendFrame(f)
}
