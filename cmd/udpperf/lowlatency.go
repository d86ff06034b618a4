package main

import (
	"flag"
	"fmt"
	"time"

	"udpstream.dev/mmsg"
)

// lowLatencyFlag is --low-latency, --no-low-latency and --spin: the
// engine's low-latency receive mode (udp.WithLowLatency,
// udp.WithLowLatencySpin), on by default where def says so.
type lowLatencyFlag struct {
	on, off *bool
	spin    *time.Duration
	def     bool
}

func addLowLatencyFlags(fs *flag.FlagSet, def bool, what string) lowLatencyFlag {
	state := "off by default"
	if def {
		state = "on by default for the socket transports"
	}
	return lowLatencyFlag{
		on:   fs.Bool("low-latency", false, "receive on threads that sleep in the kernel and "+what+" inline (udp.WithLowLatency; "+state+")"),
		off:  fs.Bool("no-low-latency", false, "receive through Go's netpoller instead of --low-latency"),
		spin: durationFlag(fs, "spin", 0, "with --low-latency, keep trying the socket for this long before sleeping (0..10ms; costs a busy CPU)"),
		def:  def,
	}
}

// lowLatency is what the flags ask for: the mode, and the spin before
// each sleep.
type lowLatency struct {
	on   bool
	spin time.Duration
}

// resolve says whether the mode applies to a transport that allows it
// (allowed); it reports contradicting flags, and --low-latency or --spin
// set where the mode cannot apply (why says why).
func (l lowLatencyFlag) resolve(allowed bool, why string) (lowLatency, error) {
	spin := *l.spin
	switch {
	case *l.on && *l.off:
		return lowLatency{}, usageError{"--low-latency and --no-low-latency exclude each other"}
	case spin < 0 || spin > mmsg.MaxReadSpin:
		return lowLatency{}, usageError{fmt.Sprintf("--spin %v outside 0..%v", spin, mmsg.MaxReadSpin)}
	case spin > 0 && *l.off:
		return lowLatency{}, usageError{"--spin needs the low-latency mode; it excludes --no-low-latency"}
	case (*l.on || spin > 0) && !allowed:
		return lowLatency{}, usageError{"--low-latency and --spin " + why}
	case *l.on || spin > 0:
		return lowLatency{on: true, spin: spin}, nil
	case *l.off:
		return lowLatency{}, nil
	}
	return lowLatency{on: l.def && allowed}, nil
}
