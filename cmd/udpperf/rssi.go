package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udprssi"
)

const rssiAbout = `
With --rssi, server and client run Rogue's stack instead of plain datagrams:
udp == rssi == packetizer == ports (tDest), as Rogue's UdpRssiPack. The
client sends PRBS frames of --size bytes on --tdests channels at once, as
fast as the RSSI window allows, for --time; the server checks every byte
and the sequence of every channel. --loss drops that fraction of the
client's outgoing datagrams to show retransmission at work.

examples:
  udpperf server --rssi --packetizer v2 --one-off
  udpperf client --rssi --host 127.0.0.1 --packetizer v2 --size 100000 --tdests 4 --loss 0.01 -J`

// wantsRSSI reports whether a server or client command line asks for the
// RSSI stack.
func wantsRSSI(args []string) bool {
	for _, a := range args {
		switch a {
		case "--rssi", "-rssi", "--rssi=true", "-rssi=true":
			return true
		}
	}
	return false
}

// rssiFlags are the flags of the --rssi mode of server and client.
type rssiFlags struct {
	host     string
	port     int
	opts     udprssi.Options
	size     int
	tdests   int
	duration time.Duration
	oneOff   bool
	json     bool
}

func parseRSSIFlags(e env, name string, args []string) (rssiFlags, error) {
	var rf rssiFlags
	fs := newFlagSet(name, "--rssi [flags]", rssiAbout, e.stdout)
	fs.Bool("rssi", true, "run the RSSI + packetizer stack")
	host := fs.String("host", "", "client: server host name or address")
	port := fs.Int("port", 8198, "UDP port (the server's)")
	jumbo := fs.Bool("jumbo", false, "jumbo datagrams (8972-byte UDP payloads)")
	pk := fs.String("packetizer", "v1", "packetizer version: v1 or v2")
	size := fs.Int("size", 1440, "client: frame size in bytes (a multiple of 4, at least 12)")
	tdests := fs.Int("tdests", 1, "client: channels (tDest 0..N-1) sending at once")
	duration := durationFlag(fs, "time", 10*time.Second, "client: how long to send; server: how long to run (0 = until stopped)")
	loss := fs.Float64("loss", 0, "client: drop this fraction of outgoing datagrams (0..1)")
	oneOff := fs.Bool("one-off", false, "server: stop when the first client's link closes")
	jsonOut := fs.Bool("json", false, "print one JSON object on stdout")
	aliasAll(fs, iperfNames)
	pos, err := parse(fs, args)
	if err != nil {
		return rf, err
	}
	if len(pos) == 1 && *host == "" {
		*host = pos[0]
	} else if len(pos) > 0 {
		return rf, usageError{fmt.Sprintf("unexpected arguments %q", pos)}
	}
	v := map[string]int{"v1": 1, "1": 1, "v2": 2, "2": 2}[strings.ToLower(*pk)]
	switch {
	case v == 0:
		return rf, usageError{fmt.Sprintf("--packetizer %q: want v1 or v2", *pk)}
	case *size < 12 || *size%4 != 0 || *size > 1<<30:
		return rf, usageError{fmt.Sprintf("--size %d: a multiple of 4, 12 to 2^30", *size)}
	case *tdests < 1 || *tdests > 256:
		return rf, usageError{fmt.Sprintf("--tdests %d: 1..256", *tdests)}
	case *loss < 0 || *loss >= 1:
		return rf, usageError{fmt.Sprintf("--loss %v: 0 <= P < 1", *loss)}
	case *port < 0 || *port > 65535:
		return rf, usageError{fmt.Sprintf("--port %d", *port)}
	case name == "client" && *duration <= 0:
		return rf, usageError{fmt.Sprintf("--time %v: the client needs a positive time", *duration)}
	}
	rf = rssiFlags{host: *host, port: *port, size: *size, tdests: *tdests, duration: *duration, oneOff: *oneOff, json: *jsonOut,
		opts: udprssi.Options{Jumbo: *jumbo, Packetizer: v, CheckCRC: true, Loss: *loss, Seed: uint64(time.Now().UnixNano())}}
	return rf, nil
}

// rssiReport is the summary of either side, in the names the other modes
// use: packets are frames.
type rssiReport struct {
	Role            string  `json:"role"`
	Packetizer      int     `json:"packetizer"`
	Packets         uint64  `json:"packets"`
	Bytes           uint64  `json:"bytes"`
	Seconds         float64 `json:"seconds"`
	BitsPerSecond   float64 `json:"bits_per_second"`
	PacketsPerSec   float64 `json:"packets_per_second"`
	LostPackets     uint64  `json:"lost_packets"`
	PRBSErrors      uint64  `json:"prbs_errors"`
	Retransmits     uint64  `json:"retransmits"`
	InjectedLosses  uint64  `json:"injected_losses"`
	Link            string  `json:"link"`
	Resets          uint64  `json:"resets"`
	SegmentsSent    uint64  `json:"segments_sent"`
	SegmentsDropped uint64  `json:"segments_dropped"`
}

func (r *rssiReport) fill(p *udprssi.Pack, frames, bytes uint64, secs float64) {
	s := p.RSSI.Stats()
	r.Packets, r.Bytes, r.Seconds = frames, bytes, secs
	if secs > 0 {
		r.BitsPerSecond, r.PacketsPerSec = float64(bytes)*8/secs, float64(frames)/secs
	}
	r.Retransmits, r.InjectedLosses, r.Link, r.Resets = s.Retransmits, p.InjectedLosses(), s.State.String(), s.Resets
	r.SegmentsSent, r.SegmentsDropped = s.TxSegments, s.Drops
}

func printRSSIReport(e env, json_ bool, r *rssiReport) error {
	if json_ {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(e.stdout, "udpperf %s --rssi: %d frames, %d bytes in %.2f s: %.3f Gbit/s, %.0f frames/s; lost %d, PRBS errors %d, retransmits %d, injected losses %d, link %s, resets %d\n",
		r.Role, r.Packets, r.Bytes, r.Seconds, r.BitsPerSecond/1e9, r.PacketsPerSec, r.LostPackets, r.PRBSErrors, r.Retransmits, r.InjectedLosses, r.Link, r.Resets)
	return nil
}

// rssiChecker checks the PRBS frames of one tDest and counts sequence gaps
// as lost frames.
type rssiChecker struct {
	mu      sync.Mutex
	buf     []byte
	next    uint32
	started bool
	frames  atomic.Uint64
	bytes   atomic.Uint64
	lost    atomic.Uint64
	errors  atomic.Uint64
}

func (c *rssiChecker) AcceptFrame(f engine.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := f.Payload()
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	f.ReadAt(c.buf, 0)
	c.frames.Add(1)
	c.bytes.Add(uint64(n))
	seq, err := prbs.Verify(c.buf, 32)
	if err != nil || f.Error() != 0 {
		c.errors.Add(1)
		if c.started {
			c.next++ // the bad frame takes the expected place: not also lost
		}
		return
	}
	if c.started && seq > c.next {
		c.lost.Add(uint64(seq - c.next))
	}
	c.started, c.next = true, seq+1
}

// runRSSIServer serves the stack on --port until --time, a signal, or with
// --one-off the end of the first link.
func runRSSIServer(ctx context.Context, e env, args []string) error {
	rf, err := parseRSSIFlags(e, "server", args)
	if err != nil {
		return err
	}
	pack, err := udprssi.NewServer(rf.port, rf.opts)
	if err != nil {
		return err
	}
	defer pack.Close()
	var checkers [256]rssiChecker
	for d := range checkers {
		engine.Connect(pack.Application(uint8(d)), &checkers[d])
	}
	fmt.Fprintf(e.stderr, "udpperf server --rssi: listening on UDP port %d, packetizer v%d\n", pack.Port(), rf.opts.Packetizer)
	if rf.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rf.duration)
		defer cancel()
	}
	start, first := waitLink(ctx, pack, rf.oneOff)
	r := rssiReport{Role: "server", Packetizer: rf.opts.Packetizer}
	var frames, bytes uint64
	for d := range checkers {
		c := &checkers[d]
		frames, bytes = frames+c.frames.Load(), bytes+c.bytes.Load()
		r.LostPackets += c.lost.Load()
		r.PRBSErrors += c.errors.Load()
	}
	secs := 0.0
	if first {
		secs = time.Since(start).Seconds()
	}
	r.fill(pack, frames, bytes, secs)
	if err := printRSSIReport(e, rf.json, &r); err != nil {
		return err
	}
	if r.PRBSErrors != 0 {
		return prbsError{fmt.Sprintf("%d PRBS errors", r.PRBSErrors)}
	}
	if !first {
		return fmt.Errorf("no RSSI client opened a link")
	}
	return nil
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

// runRSSIClient sends PRBS frames through the stack for --time, waits for
// the last ones to be acknowledged, and closes the link.
func runRSSIClient(ctx context.Context, e env, args []string) error {
	rf, err := parseRSSIFlags(e, "client", args)
	if err != nil {
		return err
	}
	if rf.host == "" {
		return usageError{"--rssi client needs --host"}
	}
	pack, err := udprssi.NewClient(rf.host, rf.port, rf.opts)
	if err != nil {
		return err
	}
	defer pack.Close()
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = pack.WaitOpen(octx)
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "udpperf client --rssi: link open to %s:%d, packetizer v%d, %d-byte frames on %d tDests, loss %v, %v\n",
		rf.host, rf.port, rf.opts.Packetizer, rf.size, rf.tdests, rf.opts.Loss, rf.duration)
	sctx, stop := context.WithTimeout(ctx, rf.duration)
	defer stop()
	start := time.Now()
	frames, refused := sendRSSI(sctx, pack, rf)
	secs := time.Since(start).Seconds()
	drainRSSI(pack, 5*time.Second)
	r := rssiReport{Role: "client", Packetizer: rf.opts.Packetizer, LostPackets: refused}
	r.fill(pack, frames, frames*uint64(rf.size), secs)
	return printRSSIReport(e, rf.json, &r)
}

// sendRSSI sends frames on every tDest until ctx ends and returns the
// frames sent and refused.
func sendRSSI(ctx context.Context, pack *udprssi.Pack, rf rssiFlags) (sent, refused uint64) {
	pool, err := engine.NewFixedPool(16<<10, 1024, 0)
	if err != nil {
		return 0, 0
	}
	var ok, bad atomic.Uint64
	var wg sync.WaitGroup
	for d := range rf.tdests {
		wg.Go(func() {
			port := pack.Application(uint8(d))
			buf := make([]byte, rf.size)
			for seq := uint32(0); ctx.Err() == nil; seq++ {
				prbs.Fill(buf, seq, 32)
				f, err := pool.AcceptReq(rf.size, true)
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

// drainRSSI waits up to limit for every segment sent to be acknowledged.
func drainRSSI(pack *udprssi.Pack, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if s := pack.RSSI.Stats(); !s.Open || s.Outstanding == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
