package natsjs

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"udpstream.dev/engine"
)

// offlinePublisher is a Publisher without a connection whose sealed
// batches are settled at once by a stand-in for the sender: the batching
// path alone, for the allocation benchmark.
func offlinePublisher(b *testing.B) (*Publisher, func()) {
	o := PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:1", Prefix: "bench"}}
	if err := o.check(); err != nil {
		b.Fatal(err)
	}
	p := &Publisher{opts: o, maxMsg: 1 << 20, room: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	p.free = make(chan *batch, o.MaxPendingBytes/o.BatchBytes+256)
	for range o.MaxPendingBytes/o.BatchBytes + 8 { // steady state: as many as the bound lets live
		p.free <- &batch{buf: make([]byte, 0, o.BatchBytes)}
	}
	p.queue.notify = make(chan struct{}, 1)
	p.waitTimer = time.NewTimer(time.Hour)
	p.waitTimer.Stop()
	go func() {
		defer close(p.done)
		var got []*batch
		for {
			select {
			case <-p.queue.notify:
			case <-p.stop:
				return
			}
			got = p.queue.take(got[:0])
			for _, bt := range got {
				p.release(bt)
			}
		}
	}()
	return p, func() { close(p.stop); <-p.done }
}

// BenchmarkBatching is AcceptFrame's copy into a batch, sealing and
// recycling: 0 allocs/op in steady state.
func BenchmarkBatching(b *testing.B) {
	for _, size := range []int{1472, 8972} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			p, stop := offlinePublisher(b)
			defer stop()
			f, err := engine.NewPool().AcceptReq(size, true)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Release()
			_ = f.SetPayload(size)
			for range 10000 {
				p.AcceptFrame(f)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p.AcceptFrame(f)
			}
		})
	}
}

// BenchmarkJetStream puts frames into JetStream on an in-process server:
// mode=engine through a Publisher (batches of 64 KiB), mode=client64k the
// client library's own async publisher sending messages of the size of
// the engine's full batch (client64kid: with a message id each, as the
// Publisher sends them, which the server keeps for de-duplication),
// mode=client one message per frame. An op is a
// frame's worth of payload; the time includes waiting for every ack. The
// script bench/natsjs.sh runs the modes alternately and prints medians.
func BenchmarkJetStream(b *testing.B) {
	for _, size := range []int{1472, 8972} {
		for _, mode := range []string{"engine", "client64k", "client64kid", "client"} {
			b.Run("size="+strconv.Itoa(size)+"/mode="+mode, func(b *testing.B) {
				srv := startServer(b, b.TempDir(), 0)
				b.SetBytes(int64(size))
				var d time.Duration
				switch mode {
				case "engine":
					d = benchEngine(b, srv.URL(), size)
				case "client64k", "client64kid":
					per := (DefaultBatchBytes - MsgHeaderLen) / (RecordHeaderLen + size)
					d = benchClient(b, srv.URL(), MsgHeaderLen+per*(RecordHeaderLen+size), per, mode == "client64kid")
				default:
					d = benchClient(b, srv.URL(), size, 1, false)
				}
				fps := float64(b.N) / d.Seconds()
				b.ReportMetric(fps, "frames/s")
				b.ReportMetric(fps*float64(size)/1e9, "GB/s")
			})
		}
	}
}

func benchEngine(b *testing.B, url string, size int) time.Duration {
	p := newPublisher(b, url, "bench", func(o *PublisherOptions) { o.MaxWait = 10 * time.Second })
	f, err := engine.NewPool().AcceptReq(size, true)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Release()
	_ = f.SetPayload(size)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		p.AcceptFrame(f)
	}
	p.Close()
	d := time.Since(start)
	b.StopTimer()
	if s := p.Stats(); s.Acked != uint64(b.N) {
		b.Fatalf("acked %d of %d: %+v", s.Acked, b.N, s)
	}
	return d
}

// benchClient publishes messages of msgLen bytes, each standing for
// perMsg frames, with the client's async publish and waits for every ack.
// Its window of pending acks holds as many bytes as the Publisher's
// (DefaultMaxPendingBytes), capped at the client's default of 4000
// messages.
func benchClient(b *testing.B, url string, msgLen, perMsg int, ids bool) time.Duration {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(min(4000, DefaultMaxPendingBytes/msgLen)))
	if err != nil {
		b.Fatal(err)
	}
	c := Conn{URL: url, Prefix: "bench"}
	if err := c.check(); err != nil {
		b.Fatal(err)
	}
	if _, err := ensureStream(js, &c); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, msgLen)
	msgs := (b.N + perMsg - 1) / perMsg
	b.ResetTimer()
	start := time.Now()
	for i := range msgs {
		opts := []jetstream.PublishOpt{jetstream.WithStallWait(30 * time.Second)}
		if ids {
			opts = append(opts, jetstream.WithMsgID("bench-"+strconv.Itoa(i)))
		}
		if _, err := js.PublishAsync("bench.0", data, opts...); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("acks did not come within a minute")
	}
	d := time.Since(start)
	b.StopTimer()
	return d
}
