package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench/report"
	"udpstream.dev/xdp"
)

func TestXDPModeFlags(t *testing.T) {
	cases := []struct {
		args       []string
		transports string
		want       xdp.Mode
		err        string // part of the usage error, "" for none
	}{
		{nil, "xdp", xdp.ModeAuto, ""},
		{nil, "mmsg", xdp.ModeAuto, ""},
		{[]string{"--xdp-mode", "auto"}, "xdp", xdp.ModeAuto, ""},
		{[]string{"--zero-copy"}, "xdp", xdp.ModeNativeZeroCopy, ""},
		{[]string{"--copy"}, "xdp", 0, "--copy needs --xdp-mode native or generic"},
		{[]string{"--xdp-mode", "native", "--zero-copy"}, "xdp", xdp.ModeNativeZeroCopy, ""},
		{[]string{"--xdp-mode", "Native", "--copy"}, "mmsg,xdp", xdp.ModeNativeCopy, ""},
		{[]string{"--xdp-mode", "native"}, "xdp", 0, "needs --zero-copy or --copy"},
		{[]string{"--xdp-mode", "generic"}, "xdp", xdp.ModeGenericCopy, ""},
		{[]string{"--xdp-mode", "generic", "--copy"}, "xdp", xdp.ModeGenericCopy, ""},
		{[]string{"--xdp-mode", "generic", "--zero-copy"}, "xdp", 0, "--zero-copy needs --xdp-mode native"},
		{[]string{"--zero-copy", "--copy"}, "xdp", 0, "exclude each other"},
		{[]string{"--xdp-mode", "driver"}, "xdp", 0, `unknown --xdp-mode "driver"`},
		{[]string{"--xdp-mode", "generic"}, "mmsg,gro", 0, "--xdp-mode applies to --transport xdp only"},
		{[]string{"--copy"}, "gro", 0, "--copy applies to --transport xdp only"},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		m := addXDPModeFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		got, err := m.resolve(fs, c.transports)
		if c.err != "" {
			if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("%v (%s): error %v, want a usage error saying %q", c.args, c.transports, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Fatalf("%v (%s): %v, %v; want %v", c.args, c.transports, got, err, c.want)
		}
	}
}

// TestXDPModeUsageErrors checks that every command offering the mode
// flags refuses an impossible combination with exit status 2.
func TestXDPModeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"server", "--transport", "xdp", "--iface", "lo", "--xdp-mode", "generic", "--zero-copy"},
		{"client", "--host", "127.0.0.1", "--transport", "xdp", "--iface", "lo", "--xdp-mode", "generic", "--zero-copy"},
		{"bench", "--netns", "--transport", "xdp", "--xdp-mode", "generic", "--zero-copy"},
		{"latency", "--netns", "--transport", "xdp", "--xdp-mode", "generic", "--zero-copy"},
		{"server", "--xdp-mode", "native", "--copy"},
	} {
		var out, errOut bytes.Buffer
		if code := realMain(args, &out, &errOut); code != exitUsage {
			t.Fatalf("%v: exit %d, want %d; stderr %q", args, code, exitUsage, errOut.String())
		}
		if line := oneLineError(t, errOut.String()); !strings.Contains(line, "--xdp-mode") {
			t.Fatalf("%v: error %q does not name --xdp-mode", args, line)
		}
	}
}

// TestBenchNetnsXDPMode runs the xdp transport across a veth pair in the
// modes veth offers and checks the mode granted on both sides, in the
// JSON and in the table.
func TestBenchNetnsXDPMode(t *testing.T) {
	netnsUsable(t)
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--xdp-mode", "generic"}, "generic-copy"},
		{[]string{"--xdp-mode", "native", "--copy"}, "native-copy"},
	} {
		args := append([]string{"bench", "--netns", "--transport", "xdp", "--size", "1472", "--batch", "8",
			"--time", "200ms", "--rate", "5kpps", "--json", "--chart", ""}, c.flags...)
		p := start(t, args...)
		if code := p.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("%v: exit %d:\n%s", c.flags, code, p.stderr.String())
		}
		var doc report.SweepReport[report.Result]
		if err := json.Unmarshal([]byte(p.stdout.String()), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.End.Results) != 1 {
			t.Fatalf("%v: %d results", c.flags, len(doc.End.Results))
		}
		r := doc.End.Results[0]
		if r.Error != "" || r.SumReceived.Packets == 0 || r.SumReceived.XDPMode != c.want || r.SumSent.XDPMode != c.want || r.Test.XDPModeRequested != c.want {
			t.Fatalf("%v: want %s granted on both sides: %+v", c.flags, c.want, r)
		}
		if !strings.Contains(p.stderr.String(), "xdp "+c.want) {
			t.Fatalf("%v: table does not show %q:\n%s", c.flags, "xdp "+c.want, p.stderr.String())
		}
	}
}
