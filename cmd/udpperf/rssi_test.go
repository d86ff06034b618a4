package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strconv"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// freeUDPPort returns a UDP port nobody listens on at the moment.
func freeUDPPort(t *testing.T) int {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// udpperf server --rssi and client --rssi, with loss: every frame
// arrives, checked, and both sides report in the JSON names of the
// other modes.
func TestRSSIServerClient(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	testutils.Leak(t)
	port := strconv.Itoa(freeUDPPort(t))
	var sout, serr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- realMain([]string{"server", "--rssi", "--port", port, "--packetizer", "v2", "--one-off", "--time", "20s", "-J"}, &sout, &serr)
	}()
	time.Sleep(200 * time.Millisecond)
	var cout, cerr bytes.Buffer
	code := realMain([]string{"client", "--rssi", "--host", "127.0.0.1", "--port", port, "--packetizer", "v2",
		"--size", "20000", "--tdests", "4", "--time", "1s", "--loss", "0.05", "-J"}, &cout, &cerr)
	if code != 0 {
		t.Fatalf("client exit %d: %s", code, cerr.String())
	}
	select {
	case code = <-done:
	case <-time.After(25 * time.Second):
		t.Fatal("server did not stop after the client closed")
	}
	if code != 0 {
		t.Fatalf("server exit %d: %s", code, serr.String())
	}
	var c, s map[string]any
	if err := json.Unmarshal(cout.Bytes(), &c); err != nil {
		t.Fatalf("client JSON: %v\n%s", err, cout.String())
	}
	if err := json.Unmarshal(sout.Bytes(), &s); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, sout.String())
	}
	if c["packets"].(float64) < 1 || c["packets"] != s["packets"] || s["lost_packets"].(float64) != 0 || s["prbs_errors"].(float64) != 0 {
		t.Fatalf("client %v\nserver %v", c, s)
	}
	if c["retransmits"].(float64) < 1 || c["injected_losses"].(float64) < 1 || c["resets"].(float64) != 0 {
		t.Fatalf("no retransmission at 5%% loss, or a reset: %v", c)
	}
}

func TestRSSIBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"client", "--rssi", "--host", "127.0.0.1", "--packetizer", "v3"},
		{"client", "--rssi", "--host", "127.0.0.1", "--size", "13"},
		{"client", "--rssi", "--host", "127.0.0.1", "--loss", "1.5"},
		{"client", "--rssi", "--host", "127.0.0.1", "--time", "0"},
		{"client", "--rssi"},
	} {
		var out, errb bytes.Buffer
		if code := realMain(args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d (%s)", args, code, errb.String())
		}
	}
}
