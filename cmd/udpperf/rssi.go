package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"udpstream.dev/bench/rssirun"
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

// runRSSIServer serves the stack on --port until --time, a signal, or with
// --one-off the end of the first link.
func runRSSIServer(ctx context.Context, e env, args []string) error {
	rf, err := parseRSSIFlags(e, "server", args)
	if err != nil {
		return err
	}
	r, err := rssirun.Serve(ctx, rf.config(e))
	if err != nil {
		return err
	}
	if err := r.Write(e.stdout, rf.json); err != nil {
		return err
	}
	if r.PRBSErrors != 0 {
		return prbsError{fmt.Sprintf("%d PRBS errors", r.PRBSErrors)}
	}
	if !r.Linked {
		return fmt.Errorf("no RSSI client opened a link")
	}
	return nil
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
	r, err := rssirun.Send(ctx, rf.config(e))
	if err != nil {
		return err
	}
	return r.Write(e.stdout, rf.json)
}

func (rf rssiFlags) config(e env) rssirun.Config {
	return rssirun.Config{Host: rf.host, Port: rf.port, Opts: rf.opts, Size: rf.size, TDests: rf.tdests,
		Duration: rf.duration, OneOff: rf.oneOff, Log: e.stderr}
}
