package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// Charts land in out/ by default, the folder created, not in the current
// directory.
func TestChartsDefaultToOut(t *testing.T) {
	t.Chdir(t.TempDir())
	bf, err := parseBenchFlags(env{io.Discard, io.Discard}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bf.chart != "out/udpperf-bench.svg" {
		t.Fatalf("bench chart %q, want out/udpperf-bench.svg", bf.chart)
	}
	if st, err := os.Stat("out"); err != nil || !st.IsDir() {
		t.Fatalf("out/ not created: %v", err)
	}
	if _, err := os.Stat(bf.chart); err == nil {
		t.Fatal("the chart file exists before the run wrote it")
	}
	var help bytes.Buffer
	if code := realMain([]string{"ndr", "--help"}, &help, io.Discard); code != exitOK {
		t.Fatalf("ndr --help: exit %d", code)
	}
	if !strings.Contains(help.String(), "(default out/udpperf-ndr.svg)") {
		t.Fatalf("ndr --help does not name out/udpperf-ndr.svg as the chart default:\n%s", help.String())
	}
}
