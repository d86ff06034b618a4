package iperf3

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// This file is what a command line needs around Server and Run: iperf3's
// text output (or one JSON document per test) written to a Writer.

// ServeOptions are a command line's server settings.
type ServeOptions struct {
	Config ServerConfig
	// OneOff stops after the first test (iperf3 -s -1).
	OneOff bool
	// JSON writes one JSON document per test instead of text.
	JSON bool
	Out  io.Writer
	// Ready, if set, is called with the port once the server listens.
	Ready func(port int)
}

// Serve serves until ctx ends (or, with OneOff, the first test ends) and
// writes each test's lines. Several clients at once get their lines
// prefixed with their session number.
func Serve(ctx context.Context, o ServeOptions) error {
	p := &printer{w: o.Out}
	done := make(chan struct{}, 1)
	cfg := o.Config
	var seenMu sync.Mutex
	seen := map[uint64]bool{}
	cfg.OnInterval = func(r *SessionReport, iv Interval) {
		if o.JSON {
			return
		}
		seenMu.Lock()
		first := !seen[r.ID]
		seen[r.ID] = true
		seenMu.Unlock()
		if first {
			header := HeaderReceiver
			if r.Bidir() {
				header = "[ ID][Role] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams"
			}
			p.lines(sessionPrefix(r), []string{fmt.Sprintf("Accepted connection from %s, port %d", r.Client.Addr(), r.Client.Port()), header})
		}
		p.lines(sessionPrefix(r), ServerIntervalLines(iv, r.Bidir()))
	}
	cfg.OnReport = func(r *SessionReport) {
		seenMu.Lock()
		delete(seen, r.ID)
		seenMu.Unlock()
		if o.JSON {
			p.json(r.JSON())
		} else {
			p.lines(sessionPrefix(r), sessionText(r))
		}
		if o.OneOff {
			select {
			case done <- struct{}{}:
			default:
			}
		}
	}
	s, err := NewServer(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if o.Ready != nil {
		o.Ready(s.Port())
	}
	if !o.JSON {
		p.lines("", []string{strings.Repeat("-", 59), fmt.Sprintf("Server listening on %d (iperf3 protocol, UDP; up to %d clients at once)", s.Port(), s.cfg.MaxClients), strings.Repeat("-", 59)})
	}
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}

func sessionPrefix(r *SessionReport) string {
	if r.ID <= 1 {
		return ""
	}
	return fmt.Sprintf("[test %d] ", r.ID)
}

// sessionText is a finished session's block: who, how it ended, the final
// lines and the port's counters.
func sessionText(r *SessionReport) []string {
	out := []string{fmt.Sprintf("Test %d from %s ended: %s", r.ID, r.Client, r.End)}
	if r.Err != nil && r.End != EndDone {
		out = append(out, "  "+r.Err.Error())
	}
	if len(r.Streams) > 0 {
		out = append(out, r.SummaryLines()...)
	}
	c := r.Port
	out = append(out, fmt.Sprintf("port counters: %d datagrams: data %d, control %d, foreign %d, malformed %d, outside a test %d, truncated %d; kernel drops %d",
		c.Datagrams, c.Data, c.Control, c.Foreign, c.Malformed, c.Outside, c.Truncated, c.KernelDrops))
	return out
}

// printer serialises lines from several sessions.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) lines(prefix string, ls []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range ls {
		fmt.Fprintln(p.w, prefix+l)
	}
}

func (p *printer) json(v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error": %q}`, err.Error()))
	}
	p.lines("", []string{string(b)})
}

// RunOptions are a command line's client settings.
type RunOptions struct {
	Config  ClientConfig
	JSON    bool
	Version string // "start.version" in JSON
	Out     io.Writer
}

// RunAndPrint runs one test and writes iperf3's text output, or its -J
// document (with "error" set when the test failed, as iperf3 does).
func RunAndPrint(ctx context.Context, o RunOptions) (*ClientResult, error) {
	p := &printer{w: o.Out}
	cfg := o.Config
	bidir := cfg.Bidir
	if !o.JSON {
		p.lines("", []string{fmt.Sprintf("Connecting to host %s, port %d", cfg.Host, cfg.Port)})
		if cfg.Reverse && !bidir {
			p.lines("", []string{fmt.Sprintf("Reverse mode, remote host %s is sending", cfg.Host)})
		}
		cfg.OnStart = func(streams []ClientStream) {
			p.lines("", ConnectedLines(streams))
			p.lines("", []string{ClientHeader(bidir, cfg.Reverse || bidir)})
		}
		cfg.OnInterval = func(iv Interval) { p.lines("", IntervalLines(iv, bidir)) }
	}
	res, err := Run(ctx, cfg)
	if o.JSON {
		doc := &ClientJSON{}
		if res != nil && res.Server != nil {
			doc = res.JSON(cfg.Host, cfg.Port, o.Version)
		}
		if err != nil {
			doc.Error = err.Error()
		}
		p.json(doc)
		return res, err
	}
	if err != nil {
		return res, err
	}
	p.lines("", SummaryLines(res))
	p.lines("", ServerOutputLines(res))
	p.lines("", []string{"", "iperf Done."})
	return res, nil
}
