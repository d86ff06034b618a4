package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/traffic"
	"udpstream.dev/engine/udp"
)

// warmUp sends cfg.Omit of traffic before the measured test, as iperf3's
// -O does. The warm-up is a test of its own (with Raw, just traffic): the
// server counts it as a session marked omitted, and its intervals are
// marked omitted, so the measured test's totals start from zero. The
// measured session, already welcomed as session, is opened again after
// it, which costs one control round trip between the two.
func warmUp(ctx context.Context, client *udp.Client, replies *replySlave, session uint64, c report.Case, cfg ClientConfig) ([]report.IntervalRecord, error) {
	w := c
	w.Duration, w.HelloWarmup = cfg.Omit, true
	refused := func() bool { return client.Stats().ConnRefused > 0 }
	id := rand.Uint64()
	if !cfg.Raw {
		if err := hello(ctx, client, replies, id, w, refused); err != nil {
			return nil, fmt.Errorf("opening the warm-up: %w", err)
		}
	}
	snd, err := traffic.NewSender(client, w.Payload, traffic.FramesPerCall(w.Transport, w.Payload, w.Batch), w.PRBS, w.Transport == udp.TransportXDP)
	if err != nil {
		return nil, err
	}
	defer snd.Release()
	snd.Stamp = account.Stampable(w)
	m := account.NewMeter(time.Now(), true)
	m.Omitted = true
	var ivs []report.IntervalRecord
	stop := account.RecordIntervals(cfg.Interval, m, func() (account.Counters, uint64) {
		return account.Counters{Bytes: snd.SentBytes.Load()}, snd.Sent.Load()
	}, &ivs, cfg.onInterval())
	_, _, _, err = sendPinned(ctx, snd, w, cfg.CPU)
	stop()
	if err != nil {
		return ivs, fmt.Errorf("warming up: %w", err)
	}
	if cfg.Raw {
		return ivs, nil
	}
	if _, err := finish(client, replies, id, snd.Sent.Load(), snd.SentBytes.Load(), connRefused(client)); err != nil {
		return ivs, fmt.Errorf("closing the warm-up: %w", err)
	}
	if err := hello(ctx, client, replies, session, c, refused); err != nil {
		return ivs, fmt.Errorf("reopening the test after the warm-up: %w", err)
	}
	return ivs, nil
}
