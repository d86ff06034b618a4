package main

import (
	"context"
	"fmt"
	"strings"

	"udpstream.dev/bench"
	"udpstream.dev/bench/srpbench"
	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/srp"
)

const srpServerAbout = `
udpperf server --srp-emulate SIZE serves a memory of SIZE bytes (K, M and G
suffixes) as an SRPv3 device, the way Rogue's SrpV3Emulation does: over plain
UDP, or with --rssi over RSSI and the packetizer, SRPv3 on tDest 0. Memory
never written reads as zeros. It runs until interrupted (or --time) and
prints the device's counters.

examples:
  udpperf server --port 9000 --srp-emulate 1M --jumbo
  udpperf server --port 8192 --srp-emulate 64K --rssi --packetizer v2`

// wantsSRPEmulate reports whether udpperf server was asked for the SRPv3
// device.
func wantsSRPEmulate(args []string) bool {
	for _, a := range args {
		if n := strings.TrimLeft(a, "-"); n != a && (n == "srp-emulate" || strings.HasPrefix(n, "srp-emulate=")) {
			return true
		}
	}
	return false
}

func runSRPServer(ctx context.Context, e env, args []string) error {
	var l srpbench.Link
	fs := newFlagSet("server", "--srp-emulate SIZE [--port P] [--jumbo] [--rssi --packetizer v1|v2]", srpServerAbout, e.stdout)
	fs.IntVar(&l.Port, "port", bench.DefaultPort, "UDP port to listen on")
	size := fs.String("srp-emulate", "", "bytes of emulated memory (K, M, G suffixes)")
	fs.BoolVar(&l.Jumbo, "jumbo", false, "jumbo datagrams (payload up to 8972 bytes)")
	fs.BoolVar(&l.RSSI, "rssi", false, "serve over RSSI and the packetizer, tDest 0")
	pk := fs.String("packetizer", "v2", "packetizer version with --rssi: v1 or v2")
	limit := durationFlag(fs, "time", 0, "stop after this long (0 = run until interrupted)")
	aliasAll(fs, iperfNames)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	n, err := parseByteSize(*size)
	if err != nil {
		return err
	}
	if l.Packetizer, err = parsePacketizer(*pk); err != nil {
		return err
	}
	mem := memory.NewEmulate(4, srp.MaxAccess)
	mem.SetSize(n)
	dev := srp.NewDevice(mem)
	stop, port, err := srpbench.Serve(dev, l)
	if err != nil {
		dev.Close()
		return err
	}
	fmt.Fprintf(e.stdout, "udpperf server: SRPv3 device of %d bytes on UDP port %d (%s)\n", n, port, l)
	if *limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *limit)
		defer cancel()
	}
	<-ctx.Done()
	stop()
	dev.Close()
	fmt.Fprintf(e.stdout, "device: %+v\n", dev.Stats())
	return nil
}

// parseByteSize parses a byte count with an optional K, M or G suffix
// (powers of 1024).
func parseByteSize(s string) (uint64, error) {
	mult := uint64(1)
	switch {
	case strings.HasSuffix(s, "K"), strings.HasSuffix(s, "k"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"):
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	v, err := parseAddr(s)
	if err != nil || v == 0 || v > (1<<40)/mult {
		return 0, usageError{fmt.Sprintf("--srp-emulate %q: want a size such as 65536, 64K or 1M", s)}
	}
	return v * mult, nil
}
