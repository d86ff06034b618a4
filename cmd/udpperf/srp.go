package main

import (
	"context"
	encbin "encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/srp"
	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/udprssi"
)

const srpAbout = `
Reaches the registers of an SRPv3 device (an FPGA, a Rogue SrpV3Emulation, or
udpperf server --srp-emulate SIZE) as Rogue's host does: over plain UDP, or
with --rssi over RSSI and the packetizer, SRPv3 on tDest 0.

  read ADDR [SIZE]     read SIZE bytes (default 4) and print them as 32-bit words
  write ADDR HEXBYTES  write the bytes (a multiple of 4) and wait for the answer
  dump ADDR SIZE       read SIZE bytes and print a hex dump
  bench                run reads (or, with --verify, writes read back) for --time,
                       --inflight at once, and print transactions/s, errors and
                       latency percentiles

Accesses larger than 4096 bytes are split into several SRPv3 frames.

examples:
  udpperf srp --host 192.168.2.10 --port 8192 --rssi --packetizer v2 read 0x0
  udpperf srp --host 127.0.0.1 --port 9000 write 0x100 efbeadde
  udpperf srp --host 127.0.0.1 --port 9000 bench --size 4 --inflight 64 --time 5s --json`

// srpFlags is udpperf srp's command line.
type srpFlags struct {
	link     srpLink
	timeout  time.Duration
	size     int
	inflight int
	time     time.Duration
	verify   bool
	json     bool
	verb     []string
}

// srpLink selects the transport of both udpperf srp and server --srp-emulate.
type srpLink struct {
	host       string
	port       int
	jumbo      bool
	rssi       bool
	packetizer int
}

func parseSRPFlags(e env, args []string) (srpFlags, error) {
	var sf srpFlags
	fs := newFlagSet("srp", "--host H --port P [--jumbo] [--rssi --packetizer v1|v2] read|write|dump|bench ...", srpAbout, e.stdout)
	fs.StringVar(&sf.link.host, "host", "127.0.0.1", "the device's address")
	fs.IntVar(&sf.link.port, "port", bench.DefaultPort, "the device's UDP port")
	fs.BoolVar(&sf.link.jumbo, "jumbo", false, "jumbo datagrams (payload up to 8972 bytes); without --rssi a 4096-byte write needs it")
	fs.BoolVar(&sf.link.rssi, "rssi", false, "carry SRPv3 over RSSI and the packetizer, tDest 0 (Rogue's UdpRssiPack)")
	pk := fs.String("packetizer", "v2", "packetizer version with --rssi: v1 or v2")
	timeout := durationFlag(fs, "timeout", time.Second, "time a transaction waits for its answer")
	fs.IntVar(&sf.size, "size", 4, "bench: bytes per transaction")
	fs.IntVar(&sf.inflight, "inflight", 1, "bench: transactions in flight at once")
	limit := durationFlag(fs, "time", 5*time.Second, "bench: how long to run")
	fs.BoolVar(&sf.verify, "verify", false, "bench: write random data and read it back, counting mismatches")
	fs.BoolVar(&sf.json, "json", false, "bench: print one JSON document")
	aliasAll(fs, iperfNames)
	pos, err := parse(fs, args)
	if err != nil {
		return sf, err
	}
	sf.timeout, sf.time, sf.verb = *timeout, *limit, pos
	if sf.link.packetizer, err = parsePacketizer(*pk); err != nil {
		return sf, err
	}
	return sf, sf.check()
}

func parsePacketizer(s string) (int, error) {
	switch strings.TrimPrefix(s, "v") {
	case "1":
		return 1, nil
	case "2":
		return 2, nil
	}
	return 0, usageError{fmt.Sprintf("--packetizer %q: want v1 or v2", s)}
}

func (sf srpFlags) check() error {
	switch {
	case len(sf.verb) == 0:
		return usageError{"a command is required: read, write, dump or bench (see udpperf srp --help)"}
	case sf.link.port <= 0 || sf.link.port > 65535:
		return usageError{fmt.Sprintf("--port %d out of range", sf.link.port)}
	case sf.timeout <= 0 || sf.time <= 0:
		return usageError{"--timeout and --time must be positive"}
	case sf.size < 4 || sf.size%4 != 0 || sf.size > memory.MaxSize:
		return usageError{fmt.Sprintf("--size %d: want a multiple of 4, at least 4", sf.size)}
	case sf.inflight < 1 || sf.inflight > 4096:
		return usageError{fmt.Sprintf("--inflight %d: want 1..4096", sf.inflight)}
	}
	return nil
}

func runSRP(ctx context.Context, e env, args []string) error {
	sf, err := parseSRPFlags(e, args)
	if err != nil {
		return err
	}
	h, err := dialSRP(ctx, sf.link)
	if err != nil {
		return err
	}
	defer h.close()
	h.m.SetTimeout(sf.timeout)
	switch sf.verb[0] {
	case "read", "dump":
		return srpRead(e, h.m, sf.verb)
	case "write":
		return srpWrite(e, h.m, sf.verb)
	case "bench":
		return srpBench(ctx, e, h, sf)
	}
	return usageError{fmt.Sprintf("unknown srp command %q: want read, write, dump or bench", sf.verb[0])}
}

// srpTryPeriod is the RSSI client's SYN retry period (0: RSSI's default);
// the tests lengthen it.
var srpTryPeriod time.Duration

// srpHost is the host end: a memory master over a hub (it splits large
// accesses) over an SRPv3 host on the chosen link.
type srpHost struct {
	m     *memory.Master
	host  *srp.Host
	close func()
}

func dialSRP(ctx context.Context, l srpLink) (*srpHost, error) {
	h := &srpHost{host: srp.NewHost()}
	hub := memory.NewHub(0, 0, 0)
	hub.SetSlave(h.host)
	h.m = memory.NewMaster(hub)
	var tr interface{ Close() error }
	if l.rssi {
		o := udprssi.Options{Jumbo: l.jumbo, Packetizer: l.packetizer}
		o.RSSI.TryPeriod = srpTryPeriod
		c, err := udprssi.NewClient(l.host, l.port, o)
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.WaitOpen(wctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("no RSSI link to %s:%d: %w", l.host, l.port, err)
		}
		engine.Connect(h.host, c.Application(0))
		engine.Connect(c.Application(0), h.host)
		tr = c
	} else {
		c, err := udp.NewClient(l.host, l.port, l.jumbo)
		if err != nil {
			return nil, err
		}
		engine.Connect(h.host, c)
		engine.Connect(c, h.host)
		tr = c
	}
	h.close = func() { h.m.Close(); h.host.Close(); tr.Close() }
	return h, nil
}

func parseAddr(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, usageError{fmt.Sprintf("address %q: %v", s, err)}
	}
	return v, nil
}

func srpRead(e env, m *memory.Master, verb []string) error {
	if len(verb) < 2 || len(verb) > 3 || (verb[0] == "dump" && len(verb) != 3) {
		return usageError{fmt.Sprintf("usage: %s ADDR SIZE", verb[0])}
	}
	addr, err := parseAddr(verb[1])
	if err != nil {
		return err
	}
	size := uint64(4)
	if len(verb) == 3 {
		if size, err = parseAddr(verb[2]); err != nil || size == 0 || size > memory.MaxSize {
			return usageError{fmt.Sprintf("size %q: want 1..%d", verb[2], memory.MaxSize)}
		}
	}
	buf := make([]byte, size)
	if err := m.Read(addr, buf); err != nil {
		return err
	}
	if verb[0] == "dump" {
		fmt.Fprint(e.stdout, hex.Dump(buf))
		return nil
	}
	for i := 0; i+4 <= len(buf); i += 4 {
		fmt.Fprintf(e.stdout, "0x%08x: 0x%08x\n", addr+uint64(i), encbin.LittleEndian.Uint32(buf[i:]))
	}
	return nil
}

func srpWrite(e env, m *memory.Master, verb []string) error {
	if len(verb) != 3 {
		return usageError{"usage: write ADDR HEXBYTES"}
	}
	addr, err := parseAddr(verb[1])
	if err != nil {
		return err
	}
	data, err := hex.DecodeString(strings.TrimPrefix(verb[2], "0x"))
	if err != nil || len(data) == 0 {
		return usageError{fmt.Sprintf("data %q: want hex bytes", verb[2])}
	}
	if err := m.Write(addr, data); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %d bytes at 0x%x\n", len(data), addr)
	return nil
}
