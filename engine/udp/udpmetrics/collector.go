// Package udpmetrics exports the counters of a udp.Server or udp.Client to
// Prometheus. It lives apart from package udp so that programs using the
// engine without Prometheus do not link it.
//
// A Collector reads udp.Stats once per scrape, so a scrape costs one Stats
// call (a getsockopt for the kernel's drop counter) and the metrics the
// Prometheus library builds; nothing is added to the datagram path.
package udpmetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"udpstream.dev/engine/udp"
)

// Source is what a Collector reads: *udp.Server and *udp.Client are
// Sources.
type Source interface{ Stats() udp.Stats }

// Option adjusts a Collector.
type Option func(*settings)

type settings struct {
	labels    prometheus.Labels
	namespace string
}

// WithLabels adds constant labels to every metric of the Collector, for
// example a stream number when several endpoints share a port. They may
// not be "transport" or "endpoint".
func WithLabels(l prometheus.Labels) Option {
	return func(s *settings) {
		for k, v := range l {
			s.labels[k] = v
		}
	}
}

// WithNamespace replaces the metric name prefix "udpstream".
func WithNamespace(ns string) Option { return func(s *settings) { s.namespace = ns } }

// Collector is a prometheus.Collector for one endpoint. Every metric
// carries the labels transport (as udp.Transport.String writes it) and
// endpoint (the name given to NewCollector). The AF_XDP metrics
// (udpstream_xdp_*) exist only for an endpoint of transport xdp. Collect
// may run concurrently with the endpoint's traffic and after its Close.
type Collector struct {
	src     Source
	metrics []metric
	mode    *prometheus.Desc // xdp only: the mode granted, as a label
}

// metric is one exported Stats field.
type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(udp.Stats) float64
}

// NewCollector returns a Collector reading src under the endpoint label
// name (an address or a stream name: it tells the endpoints of one
// process apart). The transport label is read from src once, here.
func NewCollector(name string, src Source, opts ...Option) *Collector {
	s := settings{labels: prometheus.Labels{}, namespace: "udpstream"}
	for _, o := range opts {
		o(&s)
	}
	transport := src.Stats().Transport
	s.labels["transport"] = transport.String()
	s.labels["endpoint"] = name
	c := &Collector{src: src}
	defs := commonDefs
	if transport == udp.TransportXDP {
		defs = append(append([]def(nil), commonDefs...), xdpDefs...)
		c.mode = prometheus.NewDesc(prometheus.BuildFQName(s.namespace, "xdp", "mode_info"),
			"AF_XDP mode the kernel granted the socket (label mode: native-zerocopy, native-copy or generic-copy); always 1.",
			[]string{"mode"}, s.labels)
	}
	c.metrics = make([]metric, len(defs))
	for i, d := range defs {
		c.metrics[i] = metric{
			desc:  prometheus.NewDesc(prometheus.BuildFQName(s.namespace, "", d.name), d.help, nil, s.labels),
			kind:  d.kind,
			value: d.value,
		}
	}
	return c
}

// Describe sends the descriptors of every metric Collect sends.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
	if c.mode != nil {
		ch <- c.mode
	}
}

// Collect reads the endpoint's Stats once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(st))
	}
	if c.mode != nil && st.XDP.Mode != "" {
		ch <- prometheus.MustNewConstMetric(c.mode, prometheus.GaugeValue, 1, st.XDP.Mode)
	}
}

var _ prometheus.Collector = (*Collector)(nil)
