package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// report is the JSON line both tools print.
type report struct {
	Tool      string  `json:"tool"`
	Mode      string  `json:"mode"`
	Datagrams uint64  `json:"datagrams"`
	Bytes     uint64  `json:"bytes"`
	Errors    uint64  `json:"errors"`
	Seconds   float64 `json:"seconds"`
}

// builtDir is the folder built made, if a test asked for the tools;
// TestMain removes it.
var builtDir string

// built is the folder holding refsend and refrecv, compiled once for the
// package's tests, on the first test that asks.
var built = sync.OnceValues(func() (string, error) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		return "", fmt.Errorf("%w: %s: %v", errNoCC, cc, err)
	}
	dir, err := os.MkdirTemp("", "reftools-")
	if err != nil {
		return "", err
	}
	builtDir = dir
	for _, name := range []string{"refsend", "refrecv"} {
		out, err := exec.Command(cc, "-O2", "-Wall", "-Wextra", "-Werror",
			"-o", filepath.Join(dir, name), filepath.Join("csrc", name+".c")).CombinedOutput()
		if err != nil {
			return dir, fmt.Errorf("%s %s.c: %v\n%s", cc, name, err, out)
		}
	}
	return dir, nil
})

var errNoCC = errors.New("no C compiler to build the reference tools")

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// buildTools returns the paths of refsend and refrecv, built with the
// system C compiler ($CC, else cc) with warnings as errors; it skips the
// test when there is no compiler, and under -short.
func buildTools(t *testing.T) (send, recv string) {
	t.Helper()
	if testing.Short() {
		t.Skip("short: compiles the C reference tools, which only the comparison scripts use")
	}
	dir, err := built()
	if errors.Is(err, errNoCC) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "refsend"), filepath.Join(dir, "refrecv")
}

// freePort returns a UDP port on 127.0.0.1 that nobody holds right now.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// waitBound waits until something holds the UDP port: the receiver is up.
// It reads the kernel's socket table rather than binding the port itself,
// since a probe that holds the port for a moment can make the receiver's
// own bind fail.
func waitBound(ctx context.Context, port int) error {
	want := fmt.Sprintf(":%04X ", port)
	for ctx.Err() == nil {
		table, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(table), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1]+" ", want) {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ctx.Err()
}

func parseReport(t *testing.T, who string, out []byte) report {
	t.Helper()
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s printed %q: %v", who, out, err)
	}
	return r
}

// TestExchange sends a fixed number of datagrams from refsend to refrecv in
// every pairing the scripts use, and checks that the receiver counts each
// datagram and byte exactly once. The socket buffers hold the whole run,
// so nothing is lost on loopback.
func TestExchange(t *testing.T) {
	send, recv := buildTools(t)
	const count, payload = 200, 1000
	for _, c := range []struct{ send, recv string }{
		{"naive", "naive"}, {"mmsg", "mmsg"}, {"gso", "gro"}, {"gso", "mmsg"},
	} {
		t.Run(c.send+"-"+c.recv, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			portNum := freePort(t)
			port := strconv.Itoa(portNum)
			rx := exec.CommandContext(ctx, recv, port, "3", c.recv, "64", "200")
			rxOut, err := rx.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := rx.Start(); err != nil {
				t.Fatal(err)
			}
			defer rx.Wait()
			if err := waitBound(ctx, portNum); err != nil {
				t.Fatalf("refrecv did not bind: %v", err)
			}
			txOut, err := exec.CommandContext(ctx, send, port, strconv.Itoa(payload), "2", c.send, "64",
				strconv.Itoa(count)).Output()
			if err != nil {
				t.Fatalf("refsend: %v", err)
			}
			sent := parseReport(t, "refsend", txOut)
			var got report
			if err := json.NewDecoder(rxOut).Decode(&got); err != nil {
				t.Fatalf("refrecv output: %v", err)
			}
			if err := rx.Wait(); err != nil {
				t.Fatalf("refrecv: %v", err)
			}
			if sent.Datagrams != count || got.Datagrams != count || got.Bytes != count*payload {
				t.Fatalf("sent %d, received %d datagrams of %d bytes in all; want %d of %d",
					sent.Datagrams, got.Datagrams, got.Bytes, count, count*payload)
			}
			if got.Mode != c.recv || sent.Mode != c.send {
				t.Fatalf("modes %q and %q, want %q and %q", sent.Mode, got.Mode, c.send, c.recv)
			}
		})
	}
}

// TestRefusesBadInput: a usage error exits with status 2, and a receiver
// that gets nothing says so with status 1.
func TestRefusesBadInput(t *testing.T) {
	send, recv := buildTools(t)
	for _, args := range [][]string{
		{send, "0", "1472", "1"}, {send, "5000", "70000", "1"}, {send, "5000", "1472", "1", "tcp"},
		{send, "5000", "1472", "-1"}, {recv, "5000", "x"}, {recv, "5000", "1", "gso"},
	} {
		err := exec.Command(args[0], args[1:]...).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit status 2", args[1:], err)
		}
	}
	err := exec.Command(recv, strconv.Itoa(freePort(t)), "0.2").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("receiver with no sender: %v, want exit status 1", err)
	}
}
