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
	"udpstream.dev/bench/srpbench"
	"udpstream.dev/engine/memory"
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
	link     srpbench.Link
	timeout  time.Duration
	size     int
	inflight int
	time     time.Duration
	verify   bool
	json     bool
	verb     []string
}

func parseSRPFlags(e env, args []string) (srpFlags, error) {
	var sf srpFlags
	fs := newFlagSet("srp", "--host H --port P [--jumbo] [--rssi --packetizer v1|v2] read|write|dump|bench ...", srpAbout, e.stdout)
	fs.StringVar(&sf.link.Host, "host", "127.0.0.1", "the device's address")
	fs.IntVar(&sf.link.Port, "port", bench.DefaultPort, "the device's UDP port")
	fs.BoolVar(&sf.link.Jumbo, "jumbo", false, "jumbo datagrams (payload up to 8972 bytes); without --rssi a 4096-byte write needs it")
	fs.BoolVar(&sf.link.RSSI, "rssi", false, "carry SRPv3 over RSSI and the packetizer, tDest 0 (Rogue's UdpRssiPack)")
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
	if sf.link.Packetizer, err = parsePacketizer(*pk); err != nil {
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
	case sf.link.Port <= 0 || sf.link.Port > 65535:
		return usageError{fmt.Sprintf("--port %d out of range", sf.link.Port)}
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
	h, err := srpbench.Dial(ctx, sf.link)
	if err != nil {
		return err
	}
	defer h.Close()
	h.M.SetTimeout(sf.timeout)
	switch sf.verb[0] {
	case "read", "dump":
		return srpRead(e, h.M, sf.verb)
	case "write":
		return srpWrite(e, h.M, sf.verb)
	case "bench":
		return srpBench(ctx, e, h, sf)
	}
	return usageError{fmt.Sprintf("unknown srp command %q: want read, write, dump or bench", sf.verb[0])}
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
