package main

import (
	"context"
	"fmt"
	"log/slog"

	"udpstream.dev/bench"
	"udpstream.dev/bench/account"
	"udpstream.dev/bench/natsrun"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/natsjs"
)

const consumeAbout = `
Reads the frames that udpperf server --publish (or any natsjs Publisher) put
into NATS JetStream, from the start of the stream or a durable consumer's
position, and prints, per interval, the frames, Gbit/s, frames/s, lost frames
and PRBS errors, and a summary when it stops (SIGINT/SIGTERM, --time or
--idle-exit). Sessions of a udpperf client that reached the stream through
udpperf server --publish are followed end to end: loss = what the client sent
- what was read here. The summary's jetstream line counts messages, frames
missing by the publisher's sequence numbers, and malformed messages.

The server is any nats-server with JetStream (nats-server -js, 2.9 or later),
or one this process starts with --nats-embedded DIR on the URL's host and
port, over a store written earlier (a one-machine trial).

examples:
  udpperf consume nats://127.0.0.1:4222/det --prbs --idle-exit 2s
  udpperf consume nats://broker:4222/det --durable monitor --json
  udpperf consume nats://127.0.0.1:4222/det --nats-embedded /tmp/js --prbs --idle-exit 1s -J`

func runConsume(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("consume", "nats://HOST:PORT/PREFIX [flags]", consumeAbout, e.stdout)
	prbs := fs.Bool("prbs", false, "check every frame as a Rogue PRBS frame (sessions opened with client --prbs are checked anyway)")
	jsonOut, jsonStream := addJSONFlags(fs)
	interval := durationFlag(fs, "interval", report.DefaultInterval, "time between interval lines")
	limit := durationFlag(fs, "time", 0, "stop this long after the first frame, or after start if none arrives (0 = run until interrupted)")
	idle := durationFlag(fs, "idle-exit", 0, "stop when no frame arrived for this long, after the first (0 = never)")
	durable := fs.String("durable", "", "read through this durable consumer: it keeps its position, and a later run with the same name resumes there")
	startSeq := fs.Uint64("start-seq", 0, "start at this stream sequence (0 = the first message; ignored by an existing durable consumer)")
	emb := embeddedFlag(fs)
	aliasAll(fs, iperfNames)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"want one nats://HOST:PORT/PREFIX (see consume --help)"}
	}
	c, err := natsTarget("consume", pos[0])
	if err != nil {
		return err
	}
	if *interval <= 0 {
		return usageError{"--interval must be positive"}
	}
	broker, err := startEmbedded(*emb, c.URL)
	if err != nil {
		return err
	}
	if broker != nil {
		defer broker.Shutdown()
	}
	c.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	r, err := natsjs.NewReader(natsjs.ReaderOptions{Conn: c, Durable: *durable, StartSeq: *startSeq})
	if err != nil {
		return err
	}
	defer r.Close()
	return consume(ctx, e, r, pos[0], bench.SourceConfig{Transport: "jetstream", Counting: bench.Counting{
		PRBS: *prbs, Interval: *interval, Time: *limit, IdleExit: *idle,
	}}, *jsonOut, *jsonStream)
}

// consume counts what r reads until a stop condition, then reports.
func consume(ctx context.Context, e env, r *natsjs.Reader, target string, cfg bench.SourceConfig, jsonOut, jsonStream bool) error {
	out := newReportOut(e, jsonOut, jsonStream)
	p := out.printer()
	cfg.OnInterval = out.onInterval(intervalLines(p, true))
	cfg.OnSession = func(s account.SessionSummary) { p.printf("%s\n", sessionLines(s)) }
	p.printf("udpperf consume: reading %s, prbs %v\n", target, cfg.PRBS)
	rep, err := natsrun.Consume(ctx, r, cfg)
	if err != nil {
		out.fail(err)
		return err
	}
	s := rep.JetStream
	p.printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n%s\n%s\n", report.FormatReceived(rep.End.SumReceived), natsrun.FormatConsume(s))
	if err := out.end(rep, rep.End); err != nil {
		return err
	}
	if n := rep.End.SumReceived.PRBSErrors; n > 0 {
		return prbsError{fmt.Sprintf("%d frames failed the PRBS check: %s", n, rep.End.SumReceived.PRBSFirstError)}
	}
	if s.Gaps > 0 || s.Malformed > 0 {
		return fmt.Errorf("%d frames missing by the publisher's sequence numbers, %d malformed messages", s.Gaps, s.Malformed)
	}
	return nil
}
