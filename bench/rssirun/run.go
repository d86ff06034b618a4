package rssirun

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udprssi"
)

// Config is one side's run.
type Config struct {
	Host     string          // client: the server's host
	Port     int             // the server's UDP port
	Opts     udprssi.Options // the stack's options (packetizer, jumbo, loss)
	Size     int             // client: frame size in bytes
	TDests   int             // client: channels sending at once
	Duration time.Duration   // client: how long to send; server: how long to run (0 = until ctx ends)
	OneOff   bool            // server: stop when the first link closes
	Log      io.Writer       // progress lines (listening, link open)
}

// Serve serves the stack on cfg.Port until cfg.Duration, ctx's end, or
// with cfg.OneOff the end of the first link, checking every tDest's
// frames. The report's Linked says whether a client opened a link.
func Serve(ctx context.Context, cfg Config) (Report, error) {
	pack, err := udprssi.NewServer(cfg.Port, cfg.Opts)
	if err != nil {
		return Report{}, err
	}
	defer pack.Close()
	var checkers [256]Checker
	for d := range checkers {
		engine.Connect(pack.Application(uint8(d)), &checkers[d])
	}
	fmt.Fprintf(cfg.Log, "udpperf server --rssi: listening on UDP port %d, packetizer v%d\n", pack.Port(), cfg.Opts.Packetizer)
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	start, first := waitLink(ctx, pack, cfg.OneOff)
	r := Report{Role: "server", Packetizer: cfg.Opts.Packetizer, Linked: first}
	var frames, bytes uint64
	for d := range checkers {
		f, b, lost, errs := checkers[d].Counts()
		frames, bytes = frames+f, bytes+b
		r.LostPackets += lost
		r.PRBSErrors += errs
	}
	secs := 0.0
	if first {
		secs = time.Since(start).Seconds()
	}
	r.fill(pack, frames, bytes, secs)
	return r, nil
}

// waitLink waits for ctx to end or, with oneOff, for the first link to
// open and close. It returns when the first link opened.
func waitLink(ctx context.Context, pack *udprssi.Pack, oneOff bool) (time.Time, bool) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var start time.Time
	opened := false
	for {
		select {
		case <-ctx.Done():
			return start, opened
		case <-t.C:
		}
		open := pack.RSSI.IsOpen()
		if open && !opened {
			start, opened = time.Now(), true
		}
		if oneOff && opened && !open {
			return start, opened
		}
	}
}

// Send opens a link to cfg.Host:cfg.Port, sends PRBS frames on every tDest
// for cfg.Duration, waits for the last ones to be acknowledged, and closes
// the link. Frames the stack refused count as lost.
func Send(ctx context.Context, cfg Config) (Report, error) {
	pack, err := udprssi.NewClient(cfg.Host, cfg.Port, cfg.Opts)
	if err != nil {
		return Report{}, err
	}
	defer pack.Close()
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = pack.WaitOpen(octx)
	cancel()
	if err != nil {
		return Report{}, err
	}
	fmt.Fprintf(cfg.Log, "udpperf client --rssi: link open to %s:%d, packetizer v%d, %d-byte frames on %d tDests, loss %v, %v\n",
		cfg.Host, cfg.Port, cfg.Opts.Packetizer, cfg.Size, cfg.TDests, cfg.Opts.Loss, cfg.Duration)
	sctx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	start := time.Now()
	frames, refused := sendFrames(sctx, pack, cfg)
	secs := time.Since(start).Seconds()
	drain(pack, 5*time.Second)
	r := Report{Role: "client", Packetizer: cfg.Opts.Packetizer, LostPackets: refused, Linked: true}
	r.fill(pack, frames, frames*uint64(cfg.Size), secs)
	return r, nil
}

// sendFrames sends frames on every tDest until ctx ends and returns the
// frames sent and refused.
func sendFrames(ctx context.Context, pack *udprssi.Pack, cfg Config) (sent, refused uint64) {
	pool, err := engine.NewFixedPool(16<<10, 1024, 0)
	if err != nil {
		return 0, 0
	}
	var ok, bad atomic.Uint64
	var wg sync.WaitGroup
	for d := range cfg.TDests {
		wg.Go(func() {
			port := pack.Application(uint8(d))
			buf := make([]byte, cfg.Size)
			for seq := uint32(0); ctx.Err() == nil; seq++ {
				prbs.Fill(buf, seq, 32)
				f, err := pool.AcceptReq(cfg.Size, true)
				if err != nil {
					bad.Add(1)
					return
				}
				f.WriteAt(buf, 0)
				port.AcceptFrame(f)
				if f.Error() != 0 {
					bad.Add(1)
				} else {
					ok.Add(1)
				}
				f.Release()
			}
		})
	}
	wg.Wait()
	return ok.Load(), bad.Load()
}

// drain waits up to limit for every segment sent to be acknowledged.
func drain(pack *udprssi.Pack, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if s := pack.RSSI.Stats(); !s.Open || s.Outstanding == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
