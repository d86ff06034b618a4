package udp

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// buildPeer compiles testdata/udppeer, a UDP program that uses only package
// net, for the interoperability tests.
func buildPeer(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build the peer program")
		}
	}
	bin := filepath.Join(t.TempDir(), "udppeer")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./testdata/udppeer")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the peer: %v\n%s", err, out)
	}
	return bin
}

// TestInteropSecondProcess runs an independent UDP program in another
// process: it echoes what our Client sends, and it sends to our echoing
// Server and checks the replies.
func TestInteropSecondProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("short: builds and runs a second process")
	}
	testutils.Leak(t)
	bin := buildPeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, tr := range allTransports {
		// Their echo server, our client.
		echo := exec.CommandContext(ctx, bin, "echo")
		stdin, err := echo.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := echo.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := echo.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		port, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("peer printed %q", line)
		}
		c := mustClient(t, "127.0.0.1", port, true, WithTransport(tr))
		const n = 500
		col := newCollector(0, true)
		engine.Connect(c, col)
		for i := range n {
			b := make([]byte, 1+i*17%c.MaxPayload())
			if len(b) < 4 {
				b = make([]byte, 4)
			}
			testutils.FillPattern(b, uint32(i))
			f := frameOf(t, c.ep.txPool, b)
			if err := c.Send(f); err != nil {
				t.Fatal(err)
			}
			f.Release()
			testutils.Eventually(t, 5*time.Second, "echo from the other process", func() bool { return col.n.Load() == int64(i+1) })
		}
		for i, b := range col.got() {
			if seq, ok := testutils.CheckPattern(b); !ok || seq != uint32(i) {
				t.Fatalf("%v: echo %d: seq %d intact %v", tr, i, seq, ok)
			}
		}
		c.Close()
		stdin.Close()
		if err := echo.Wait(); err != nil {
			t.Fatalf("peer echo: %v", err)
		}

		// Our echo server, their sender.
		s := mustServer(t, false, WithTransport(tr))
		engine.Connect(s, s)
		out, err := exec.CommandContext(ctx, bin, "send", strconv.Itoa(s.Port()), "2000", "1472").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok 2000" {
			t.Fatalf("%v: peer sender: %v: %s", tr, err, out)
		}
		s.Close()
	}
}
