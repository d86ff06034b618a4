package udpmetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"udpstream.dev/engine/udp"
)

// def is one metric: its name after the namespace, its help (which states
// the unit, as the udp.Stats field's doc does), its type and its value.
type def struct {
	name  string
	help  string
	kind  prometheus.ValueType
	value func(udp.Stats) float64
}

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// commonDefs are the metrics of every transport.
var commonDefs = []def{
	{"rx_frames_total", "Datagrams accepted from the socket and turned into frames, including those later dropped by a full receive queue (rx_ring_drops_total).", counter, func(s udp.Stats) float64 { return float64(s.RxFrames) }},
	{"rx_bytes_total", "Payload bytes of the datagrams counted in rx_frames_total.", counter, func(s udp.Stats) float64 { return float64(s.RxBytes) }},
	{"tx_frames_total", "Datagrams the kernel accepted for transmission.", counter, func(s udp.Stats) float64 { return float64(s.TxFrames) }},
	{"tx_bytes_total", "Payload bytes of the datagrams counted in tx_frames_total.", counter, func(s udp.Stats) float64 { return float64(s.TxBytes) }},
	{"kernel_dropped_buffers_total", "Socket buffers (skbs) the kernel dropped on the sockets, mostly for lack of receive-buffer room (sk_drops, read through SO_MEMINFO). Not datagrams: without GRO a buffer held one datagram, with GRO one to 128.", counter, func(s udp.Stats) float64 { return float64(s.KernelDroppedBuffers) }},
	{"rx_buffer_bytes", "Receive buffer the kernel granted, in bytes, summed over the sockets, as the kernel charges it (twice the payload room).", gauge, func(s udp.Stats) float64 { return float64(s.RxBufferBytes) }},
	{"rx_gro_buffers_total", "Socket buffers received on the GRO path (one receive each).", counter, func(s udp.Stats) float64 { return float64(s.RxGROBuffers) }},
	{"rx_gro_datagrams_total", "Datagrams the GRO socket buffers held.", counter, func(s udp.Stats) float64 { return float64(s.RxGRODatagrams) }},
	{"rx_gro_max_datagrams", "Most datagrams one received GRO socket buffer held.", gauge, func(s udp.Stats) float64 { return float64(s.RxGROMaxDatagrams) }},
	{"rx_ring_drops_total", "Frames (datagrams) dropped because the receive queue was full.", counter, func(s udp.Stats) float64 { return float64(s.RingDrops) }},
	{"rx_oversize_total", "Datagrams longer than the maximum payload (truncated by the kernel), dropped.", counter, func(s udp.Stats) float64 { return float64(s.RxOversize) }},
	{"rx_rejected_total", "Datagrams from peers not allowed, dropped.", counter, func(s udp.Stats) float64 { return float64(s.RxRejected) }},
	{"rx_pool_exhausted_total", "Datagrams dropped because every receive buffer was held.", counter, func(s udp.Stats) float64 { return float64(s.RxPoolExhausted) }},
	{"rx_errors_total", "Failed receive calls (system calls, not datagrams), connection-refused reports excluded.", counter, func(s udp.Stats) float64 { return float64(s.RxErrors) }},
	{"tx_oversize_total", "Frames not sent because their payload exceeds the maximum payload.", counter, func(s udp.Stats) float64 { return float64(s.TxOversize) }},
	{"tx_errored_total", "Frames not sent because their error flag was set.", counter, func(s udp.Stats) float64 { return float64(s.TxErrored) }},
	{"tx_no_peer_total", "Frames a server could not send because no peer had been heard from.", counter, func(s udp.Stats) float64 { return float64(s.TxNoPeer) }},
	{"tx_errors_total", "Frames not sent for any other reason (released frame, closed endpoint, kernel error).", counter, func(s udp.Stats) float64 { return float64(s.TxErrors) }},
	{"tx_timeouts_total", "Frames not sent because the socket buffer stayed full for the whole transmit timeout.", counter, func(s udp.Stats) float64 { return float64(s.TxTimeouts) }},
	{"conn_refused_total", "ICMP port-unreachable reports (ECONNREFUSED) on a connected socket.", counter, func(s udp.Stats) float64 { return float64(s.ConnRefused) }},
	{"gro_enabled", "1 if UDP receive offload (GRO) is in use, else 0.", gauge, func(s udp.Stats) float64 { return b2f(s.GRO) }},
	{"gso_enabled", "1 if UDP segmentation offload (GSO) is in use, else 0.", gauge, func(s udp.Stats) float64 { return b2f(s.GSO) }},
	{"gso_fallback", "1 if the kernel refused GSO and datagrams are sent one by one, else 0.", gauge, func(s udp.Stats) float64 { return b2f(s.GSOFallback) }},
	{"batch_messages", "Messages per system call the endpoint was configured with.", gauge, func(s udp.Stats) float64 { return float64(s.Batch) }},
}

// xdpDefs are the metrics of transport xdp only.
var xdpDefs = []def{
	{"xdp_rx_malformed_total", "Packets the AF_XDP socket received that are not well-formed UDP datagrams, dropped.", counter, func(s udp.Stats) float64 { return float64(s.XDP.RxMalformed) }},
	{"xdp_rx_checksum_offloaded_total", "Datagrams accepted whose UDP checksum was left to offload, so their payload was not verified.", counter, func(s udp.Stats) float64 { return float64(s.XDP.RxChecksumOffloaded) }},
	{"xdp_rx_dropped_total", "Packets the AF_XDP socket dropped for want of a buffer or as too large (XDP_STATISTICS rx_dropped).", counter, func(s udp.Stats) float64 { return float64(s.XDP.RxDropped) }},
	{"xdp_rx_invalid_total", "Invalid fill-ring descriptors (XDP_STATISTICS rx_invalid_descs).", counter, func(s udp.Stats) float64 { return float64(s.XDP.RxInvalid) }},
	{"xdp_rx_ring_full_total", "Packets dropped on a full AF_XDP RX ring (XDP_STATISTICS rx_ring_full).", counter, func(s udp.Stats) float64 { return float64(s.XDP.RingFull) }},
	{"xdp_fill_ring_empty_total", "Times the kernel found the fill ring empty (XDP_STATISTICS rx_fill_ring_empty_descs). Events, not packets: never add to packet drops.", counter, func(s udp.Stats) float64 { return float64(s.XDP.FillEmpty) }},
	{"xdp_tx_invalid_total", "TX descriptors the kernel rejected (XDP_STATISTICS tx_invalid_descs).", counter, func(s udp.Stats) float64 { return float64(s.XDP.TxInvalid) }},
	{"xdp_tx_copies_total", "Frames copied into the UMEM to be sent.", counter, func(s udp.Stats) float64 { return float64(s.XDP.TxCopies) }},
	{"xdp_multi_buffer", "1 if packets larger than a UMEM chunk span several descriptors, else 0.", gauge, func(s udp.Stats) float64 { return b2f(s.XDP.MultiBuffer) }},
}
