package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape fetches a metrics page and returns its samples by series.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		samples[line[:i]] = v
	}
	return samples
}

// TestServerMetricsEndpoint runs udpperf server --metrics as a process,
// sends datagrams over loopback, scrapes /metrics over loopback HTTP and
// checks the counters, then checks the endpoint closes with the server.
func TestServerMetricsEndpoint(t *testing.T) {
	p, port := startServer(t, "--metrics", "127.0.0.1:0", "--json")
	p.waitFor(t, "/metrics", 5*time.Second)
	m := regexp.MustCompile(`serving Prometheus metrics on http://(127\.0\.0\.1:\d+)/metrics`).FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("the server does not say where it serves metrics:\n%s", p.stderr.String())
	}
	url := "http://" + m[1] + "/metrics"
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n, size = 50, 200
	for range n {
		if _, err := conn.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	labels := fmt.Sprintf(`{endpoint="127.0.0.1:%d",stream="1",transport="mmsg"}`, port)
	var s map[string]float64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s = scrape(t, url)
		if s["udpstream_rx_frames_total"+labels] == n || time.Now().After(deadline) {
			break
		}
	}
	want := map[string]float64{
		"udpstream_rx_frames_total":              n,
		"udpstream_rx_bytes_total":               n * size,
		"udpstream_kernel_dropped_buffers_total": 0,
		"udpstream_rx_oversize_total":            0,
		"udpstream_tx_frames_total":              0,
		"udpstream_batch_messages":               64,
	}
	for name, v := range want {
		got, ok := s[name+labels]
		if !ok || got != v {
			t.Fatalf("%s%s = %v (present %v), want %v; scraped:\n%v", name, labels, got, ok, v, s)
		}
	}
	if s["udpstream_rx_buffer_bytes"+labels] <= 0 {
		t.Fatalf("udpstream_rx_buffer_bytes%s missing", labels)
	}
	if _, ok := s["process_cpu_seconds_total"]; !ok {
		t.Fatal("process metrics missing")
	}
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("server exit %d:\n%s", code, p.stderr.String())
	}
	if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
		c.Close()
		t.Fatalf("metrics endpoint %s still open after the server exited", m[1])
	}
}

func TestServerMetricsBadAddress(t *testing.T) {
	_, stderr, code := run(t, 10*time.Second, "server", "--port", "0", "--metrics", "127.0.0.1:99999")
	if code != exitError || !strings.Contains(oneLineError(t, stderr), "--metrics 127.0.0.1:99999") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
