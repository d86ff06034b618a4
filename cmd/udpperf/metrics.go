package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"udpstream.dev/bench"
	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/udp/udpmetrics"
)

// metricsShutdown bounds how long udpperf server waits for scrapes in
// progress when it stops.
const metricsShutdown = 2 * time.Second

// metricsFlag is udpperf server's --metrics: where to serve Prometheus
// metrics over HTTP.
type metricsFlag struct{ addr *string }

func addMetricsFlag(fs *flag.FlagSet) metricsFlag {
	return metricsFlag{addr: fs.String("metrics", "", "serve Prometheus metrics (every engine counter, per stream) over HTTP at ADDR/metrics, e.g. :9201 or 127.0.0.1:0 (port 0: the system chooses; the address is printed)")}
}

// metricsServer is the HTTP endpoint of one udpperf server run.
type metricsServer struct {
	reg  *prometheus.Registry
	srv  *http.Server
	done chan error

	mu      sync.Mutex
	streams int
}

// start listens on the --metrics address, says on stderr where, and
// hooks cfg so that every server Serve opens is exported. stop shuts the
// endpoint down, waiting at most metricsShutdown for scrapes in progress.
// Without --metrics it does nothing.
func (m metricsFlag) start(e env, cfg *bench.ServeConfig) (stop func(), err error) {
	if *m.addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", *m.addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", *m.addr, err)
	}
	ms := &metricsServer{reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	ms.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(ms.reg, promhttp.HandlerOpts{}))
	ms.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { ms.done <- ms.srv.Serve(ln) }()
	fmt.Fprintf(e.stderr, "udpperf server: serving Prometheus metrics on http://%s/metrics\n", ln.Addr())
	prev := cfg.OnServer
	bind := ""
	if cfg.Bind.IsValid() {
		bind = cfg.Bind.String()
	}
	cfg.OnServer = func(s *udp.Server) {
		if prev != nil {
			prev(s)
		}
		if err := ms.add(net.JoinHostPort(bind, strconv.Itoa(s.Port())), s, cfg.Port); err != nil {
			fmt.Fprintf(e.stderr, "udpperf server: warning: metrics of port %d not exported: %v\n", s.Port(), err)
		}
	}
	return ms.stop, nil
}

// add exports one server's counters, labelled with its address and its
// stream number as the server's lines give it: 1 for --port, 2 for the
// next port (-P), or, when the system chose the port, the order in which
// the servers opened, from 1.
func (ms *metricsServer) add(endpoint string, s *udp.Server, basePort int) error {
	ms.mu.Lock()
	ms.streams++
	stream := ms.streams
	ms.mu.Unlock()
	if basePort > 0 {
		stream = s.Port() - basePort + 1
	}
	return ms.reg.Register(udpmetrics.NewCollector(endpoint, s,
		udpmetrics.WithLabels(prometheus.Labels{"stream": strconv.Itoa(stream)})))
}

func (ms *metricsServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), metricsShutdown)
	defer cancel()
	if err := ms.srv.Shutdown(ctx); err != nil {
		ms.srv.Close() // scrapes still running after the grace period
	}
	<-ms.done // Serve returns once Shutdown or Close ran
}
