package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

// errHelp is returned after --help printed the usage: exit status 0.
var errHelp = flag.ErrHelp

// usages holds the help text printer of each subcommand's flag set. The
// flag package calls FlagSet.Usage on every parse error too, so the help
// text lives here and Usage stays silent.
var usages = map[*flag.FlagSet]func(){}

// flagMu guards usages, aliases and shortNames: subcommands may parse
// their flags at the same time (an in-process server and client).
var flagMu sync.Mutex

// newFlagSet returns a flag set for one subcommand whose help text goes
// to w on --help.
func newFlagSet(name, synopsis, about string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("udpperf "+name, flag.ContinueOnError)
	fs.Usage = func() {}
	flagMu.Lock()
	defer flagMu.Unlock()
	usages[fs] = func() {
		fmt.Fprintf(w, "usage: udpperf %s %s\n\n%s\n\nflags (-flag and --flag are the same; -x is iperf3's name):\n", name, synopsis, strings.TrimSpace(about))
		printDefaults(w, fs)
	}
	return fs
}

// printDefaults lists the flags in the --long form users type.
func printDefaults(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if isShortName(fs, f.Name) {
			return // listed with its long name
		}
		kind, usage := flag.UnquoteUsage(f)
		switch f.Value.(type) {
		case durationValue:
			kind = "duration"
		case rateValue:
			kind = "rate"
		}
		line := "  " + flagNames(fs, f.Name)
		if kind != "" {
			line += " " + kind
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// parse parses args, allowing positional arguments between flags, and
// returns the positionals. A mistake comes back as one line.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				flagMu.Lock()
				usage := usages[fs]
				flagMu.Unlock()
				usage()
				return nil, errHelp
			}
			return nil, usageError{fmt.Sprintf("%v (see %s --help)", err, fs.Name())}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseNoArgs parses args for a subcommand that takes flags only.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (see %s --help)", pos[0], fs.Name())}
	}
	return nil
}

// parseBind parses --bind; empty means any local address.
func parseBind(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, usageError{fmt.Sprintf("--bind %q is not an IP address", s)}
	}
	return a, nil
}

// durationValue is a duration flag that also takes plain seconds ("10",
// "0.5") as iperf3 does.
type durationValue struct{ d *time.Duration }

// String shows the default in --help.
func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

// Set parses a duration or plain seconds.
func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs < 0 {
			return 0, fmt.Errorf("negative duration %q", s)
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. 10s, 500ms or plain seconds", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}

func durationFlag(fs *flag.FlagSet, name string, def time.Duration, usage string) *time.Duration {
	d := def
	fs.Var(durationValue{&d}, name, usage)
	return &d
}

// rateValue is a --rate flag.
type rateValue struct{ r *report.Rate }

// String shows the default in --help.
func (v rateValue) String() string {
	if v.r == nil {
		return ""
	}
	return v.r.String()
}

// Set parses a rate (see report.ParseRate).
func (v rateValue) Set(s string) error {
	r, err := report.ParseRate(s)
	if err != nil {
		return err
	}
	*v.r = r
	return nil
}

func rateFlag(fs *flag.FlagSet) *report.Rate {
	var r report.Rate
	fs.Var(rateValue{&r}, "rate", "target send rate: payload bit/s with k/M/G suffix (500M, 2.5G), datagrams/s with pps (100kpps), 0 = as fast as possible")
	return &r
}

// parseTransport parses one transport name.
func parseTransport(s string) (udp.Transport, error) {
	t, err := udp.ParseTransport(s)
	if err != nil {
		return 0, usageError{fmt.Sprintf("unknown transport %q (want naive, mmsg, gro, gso or xdp)", s)}
	}
	if err := report.CheckTransport(t); err != nil {
		return 0, err
	}
	return t, nil
}

// parseTransports parses a comma-separated transport list.
func parseTransports(s string) ([]udp.Transport, error) {
	var out []udp.Transport
	for _, name := range splitList(s) {
		t, err := parseTransport(name)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, usageError{"empty transport list"}
	}
	return out, nil
}

// parseInts parses a comma-separated list of positive integers.
func parseInts(what, s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, usageError{fmt.Sprintf("%s %q: want positive integers separated by commas", what, s)}
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, usageError{fmt.Sprintf("empty %s list", what)}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// xdpFlags are accepted for the xdp transport: the interface and queue to
// attach to, and the mode.
type xdpFlags struct {
	iface *string
	queue *int
	mode  xdpModeFlags
}

func addXDPFlags(fs *flag.FlagSet) xdpFlags {
	return xdpFlags{
		iface: fs.String("iface", "", "network interface the AF_XDP socket binds to, for --transport xdp"),
		queue: fs.Int("queue", 0, "queue of --iface the AF_XDP socket binds to, for --transport xdp"),
		mode:  addXDPModeFlags(fs),
	}
}

// config returns the xdp settings, requiring an interface for xdp.
func (x xdpFlags) config(fs *flag.FlagSet, t udp.Transport) (report.XDP, error) {
	if t == udp.TransportXDP && *x.iface == "" {
		return report.XDP{}, usageError{"--transport xdp needs --iface (and --queue, default 0): the interface the AF_XDP socket binds to"}
	}
	if *x.queue < 0 {
		return report.XDP{}, usageError{fmt.Sprintf("--queue %d is negative", *x.queue)}
	}
	mode, err := x.mode.resolve(fs, t.String())
	if err != nil {
		return report.XDP{}, err
	}
	return report.XDP{Iface: *x.iface, Queue: *x.queue, Mode: mode}, nil
}

// transport parses the single transport name of client and server
// together with its xdp settings, rejecting --iface/--queue without xdp.
func (x xdpFlags) transport(fs *flag.FlagSet, name string) (udp.Transport, report.XDP, error) {
	if err := x.check(fs, name); err != nil {
		return 0, report.XDP{}, err
	}
	t, err := parseTransport(name)
	if err != nil {
		return 0, report.XDP{}, err
	}
	xcfg, err := x.config(fs, t)
	if err != nil {
		return 0, report.XDP{}, err
	}
	return t, xcfg, nil
}

// check rejects --iface/--queue without the xdp transport.
func (x xdpFlags) check(fs *flag.FlagSet, transports string) error {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "iface" || f.Name == "queue" {
			set = true
		}
	})
	if set && !strings.Contains(strings.ToLower(transports), "xdp") {
		return usageError{"--iface and --queue apply to --transport xdp only"}
	}
	return nil
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// checkBatchFlag rejects a --batch the engine would not run as shown: 0
// would silently mean the default, and above MaxBatch the kernel's limit
// on messages per call is exceeded.
func checkBatchFlag(n int) error {
	if n < 1 || n > udp.MaxBatch {
		return usageError{fmt.Sprintf("--batch %d outside 1..%d", n, udp.MaxBatch)}
	}
	return nil
}
