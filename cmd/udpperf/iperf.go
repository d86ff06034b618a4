package main

import (
	"flag"
	"fmt"
	"strings"
	"time"
)

// iperf3's short flags. Each is a second name of a udpperf flag, sharing
// its value, so `-t 5` and `--time 5` are the same; --help shows both.

// aliases maps, per flag set, a long flag name to its short iperf3 name;
// shortNames marks the short names so that --help lists each flag once.
var (
	aliases    = map[*flag.FlagSet]map[string]string{}
	shortNames = map[*flag.FlagSet]map[string]bool{}
)

// alias makes short a second name of the defined flag long.
func alias(fs *flag.FlagSet, short, long string) {
	f := fs.Lookup(long)
	if f == nil {
		panic("udpperf: alias of undefined flag --" + long) // a programming error
	}
	fs.Var(f.Value, short, f.Usage)
	flagMu.Lock()
	defer flagMu.Unlock()
	if aliases[fs] == nil {
		aliases[fs], shortNames[fs] = map[string]string{}, map[string]bool{}
	}
	aliases[fs][long] = short
	shortNames[fs][short] = true
}

// isShortName reports whether name is an iperf3 short name in fs.
func isShortName(fs *flag.FlagSet, name string) bool {
	flagMu.Lock()
	defer flagMu.Unlock()
	return shortNames[fs][name]
}

// shortOf is the short name of the long flag in fs, if it has one.
func shortOf(fs *flag.FlagSet, long string) (string, bool) {
	flagMu.Lock()
	defer flagMu.Unlock()
	short, ok := aliases[fs][long]
	return short, ok
}

// aliasAll applies alias to each long=short pair whose long flag fs has.
func aliasAll(fs *flag.FlagSet, pairs map[string]string) {
	for long, short := range pairs {
		if fs.Lookup(long) != nil {
			alias(fs, short, long)
		}
	}
}

// iperfNames are iperf3's short names of udpperf's long flags.
var iperfNames = map[string]string{
	"host":     "c",
	"port":     "p",
	"time":     "t",
	"rate":     "b",
	"size":     "l",
	"interval": "i",
	"json":     "J",
	"bind":     "B",
	"affinity": "A",
	"one-off":  "1",
	"omit":     "O",
	"reverse":  "R",
	"parallel": "P",
}

// acceptUDP adds iperf3's -u (and --udp), which udpperf accepts and
// ignores because it always uses UDP.
func acceptUDP(fs *flag.FlagSet) {
	fs.Bool("udp", false, "accepted for iperf3 compatibility: udpperf always uses UDP")
	alias(fs, "u", "udp")
}

// flagNames is the --help form of a flag: "-c, --host" or "--batch".
func flagNames(fs *flag.FlagSet, long string) string {
	if short, ok := shortOf(fs, long); ok {
		return "-" + short + ", --" + long
	}
	return "--" + long
}

// iperfForm maps iperf3's command line without a subcommand (`udpperf -s
// ...`, `udpperf -c HOST ...`) to udpperf's. ok is false when args do not
// start with a flag; a command line naming both or neither role, or a
// version flag among others, is a usage error. -V alone prints the version
// too; among other flags it is iperf3's --verbose, which udpperf does not
// have, and the subcommand rejects it.
func iperfForm(args []string) (name string, rest []string, ok bool, err error) {
	if len(args) == 0 || !strings.HasPrefix(args[0], "-") {
		return "", nil, false, nil
	}
	server, client := false, false
	for _, a := range args {
		switch {
		case a == "--":
			return "", nil, true, usageError{"a bare -- is not a udpperf argument"}
		case isFlag(a, "s", "server"):
			server = true
			continue // the subcommand replaces it
		case isFlag(a, "c") || hasValue(a, "c"):
			client = true
		case isFlag(a, "client"):
			client, a = true, "-c"
		case hasValue(a, "client"):
			client, a = true, "-c="+a[strings.IndexByte(a, '=')+1:]
		case isFlag(a, "v", "V", "version") && len(args) == 1:
			return "version", nil, true, nil
		case isFlag(a, "v", "version"):
			return "", nil, true, usageError{"-v/--version takes no other arguments"}
		}
		rest = append(rest, a)
	}
	switch {
	case server && client:
		return "", nil, true, usageError{"-s and -c exclude each other: run the server and the client as two commands"}
	case server:
		return "server", rest, true, nil
	case client:
		return "client", rest, true, nil
	}
	return "", nil, true, usageError{fmt.Sprintf("no command: give one (server, client, bench, latency, version) or iperf3's -s or -c HOST; %q is not one (see udpperf --help)", args[0])}
}

// isFlag reports whether a is one of the named boolean flags, written with
// one dash or two.
func isFlag(a string, names ...string) bool {
	for _, n := range names {
		if a == "-"+n || a == "--"+n {
			return true
		}
	}
	return false
}

// hasValue reports whether a is one of the named flags with an attached
// value (-c=HOST).
func hasValue(a string, names ...string) bool {
	for _, n := range names {
		if strings.HasPrefix(a, "-"+n+"=") || strings.HasPrefix(a, "--"+n+"=") {
			return true
		}
	}
	return false
}

// modeNote ends the client's start line with what is not a plain test.
func modeNote(prbs, reverse, bidir bool) string {
	s := ""
	if prbs {
		s += ", prbs"
	}
	if reverse {
		s += ", reverse: the server sends"
	}
	if bidir {
		s += ", bidir: both send"
	}
	return s
}

// checkReverse rejects what a reverse or bidirectional test cannot do:
// --raw (the server must send), -O (the warm-up runs in the forward
// direction only) and, for -R, -A (the client's receiving thread is not
// its own to pin).
func checkReverse(fs *flag.FlagSet, reverse, bidir, raw bool, omit time.Duration) error {
	name := "-R/--reverse"
	switch {
	case reverse && bidir:
		return usageError{"-R/--reverse and --bidir exclude each other"}
	case bidir:
		name = "--bidir"
	case !reverse:
		return nil
	}
	switch {
	case raw:
		return usageError{name + " needs a udpperf server: not with --raw"}
	case omit > 0:
		return usageError{name + " does not take -O/--omit"}
	case reverse && isSet(fs, "affinity"):
		return usageError{"-R/--reverse does not take -A/--affinity: the client does not send"}
	}
	return nil
}
