package natsjs

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"udpstream.dev/engine"
)

// offlinePublisher is a Publisher without a connection whose sealed
// batches are settled by a stand-in for the sender: the batching path
// alone, for the allocation benchmark. The stand-in holds up to hold bytes
// of sealed batches before it settles the oldest, as a server whose acks
// lag would (0: it settles each batch at once).
func offlinePublisher(b *testing.B, hold int) (*Publisher, func()) {
	o := PublisherOptions{Conn: Conn{URL: "nats://127.0.0.1:1", Prefix: "bench"}}
	if err := o.check(); err != nil {
		b.Fatal(err)
	}
	p := makePublisher(o)
	p.maxMsg = 1 << 20
	for range o.MaxPendingBytes/o.BatchBytes + 8 { // steady state: as many as the bound lets live
		p.free.put(&batch{buf: make([]byte, 0, o.BatchBytes)})
	}
	go func() {
		defer close(p.done)
		var got, held []*batch
		heldBytes := 0
		for {
			select {
			case <-p.queue.notify:
			case <-p.stop:
				return
			}
			got = p.queue.take(got[:0])
			for _, bt := range got {
				held = append(held, bt)
				heldBytes += len(bt.buf)
				for heldBytes > hold {
					heldBytes -= len(held[0].buf)
					p.release(held[0])
					held = append(held[:0], held[1:]...)
				}
			}
		}
	}()
	return p, func() { close(p.stop); <-p.done }
}

// processCPU is the CPU time, user and system, this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBatching is AcceptFrame's copy into a batch, sealing and
// recycling: 0 allocs/op in steady state. held=0: each batch is settled
// at once (the batch copied into stays in the cache); held=8MiB: half the
// default bound is outstanding, as with a server whose acks lag, so the
// batch copied into was last touched 8 MiB of batches ago. cpu-ns/frame is the process's CPU time per frame, less
// disturbed than ns/op by other work on the machine.
func BenchmarkBatching(b *testing.B) {
	for _, size := range []int{1472, 8972} {
		for _, hold := range []int{0, DefaultMaxPendingBytes / 2} {
			name := "size=" + strconv.Itoa(size) + "/held=" + strconv.Itoa(hold>>20) + "MiB"
			b.Run(name, func(b *testing.B) { benchBatching(b, size, hold) })
		}
	}
}

func benchBatching(b *testing.B, size, hold int) {
	p, stop := offlinePublisher(b, hold)
	defer stop()
	f, err := engine.NewPool().AcceptReq(size, true)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Release()
	_ = f.SetPayload(size)
	for range 20000 {
		p.AcceptFrame(f)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		p.AcceptFrame(f)
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/frame")
	if s := p.Stats(); s.Dropped() != 0 {
		b.Fatalf("%d frames dropped: %+v", s.Dropped(), s)
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
				var d, cpu time.Duration
				switch mode {
				case "engine":
					d, cpu = benchEngine(b, srv.URL(), size)
				case "client64k", "client64kid":
					per := (DefaultBatchBytes - MsgHeaderLen) / (RecordHeaderLen + size)
					d, cpu = benchClient(b, srv.URL(), MsgHeaderLen+per*(RecordHeaderLen+size), per, mode == "client64kid")
				default:
					d, cpu = benchClient(b, srv.URL(), size, 1, false)
				}
				fps := float64(b.N) / d.Seconds()
				b.ReportMetric(fps, "frames/s")
				b.ReportMetric(fps*float64(size)/1e9, "GB/s")
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/frame")
			})
		}
	}
}

// benchEngine and benchClient return the wall time of the run and the
// process's CPU time in it (the server's included).
func benchEngine(b *testing.B, url string, size int) (time.Duration, time.Duration) {
	p := newPublisher(b, url, "bench", func(o *PublisherOptions) { o.MaxWait = 10 * time.Second })
	f, err := engine.NewPool().AcceptReq(size, true)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Release()
	_ = f.SetPayload(size)
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	for range b.N {
		p.AcceptFrame(f)
	}
	p.Close()
	d, cpu := time.Since(start), processCPU()-cpu
	b.StopTimer()
	if s := p.Stats(); s.Acked != uint64(b.N) {
		b.Fatalf("acked %d of %d: %+v", s.Acked, b.N, s)
	}
	return d, cpu
}

// benchClient publishes messages of msgLen bytes, each standing for
// perMsg frames, with the client's async publish and waits for every ack.
// Its window of pending acks holds as many bytes as the Publisher's
// (DefaultMaxPendingBytes), capped at the client's default of 4000
// messages.
func benchClient(b *testing.B, url string, msgLen, perMsg int, ids bool) (time.Duration, time.Duration) {
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
	start, cpu := time.Now(), processCPU()
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
	d, cpu := time.Since(start), processCPU()-cpu
	b.StopTimer()
	return d, cpu
}
