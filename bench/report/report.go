package report

import (
	"time"

	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/internal/sysinfo"
	"udpstream.dev/engine/udp"
)

// The result types below are what udpperf prints with --json. Field names
// follow iperf3's -J output where the meaning is the same (start,
// intervals[].sum, end.sum_sent, end.sum_received, bits_per_second,
// packets, lost_packets, lost_percent, seconds, bytes); the rest are
// udpperf's own.

// System describes the machine and build a report comes from.
type System = sysinfo.System

// CollectSystem describes this process's machine and build.
func CollectSystem() System { return sysinfo.Collect() }

// TestInfo describes the setup of a measurement ("start.test").
type TestInfo struct {
	Transport string `json:"transport"`
	Payload   int    `json:"payload"`
	Batch     int    `json:"batch"`
	MTU       int    `json:"mtu"`
	// Rate is the target as written ("max" for none); the numeric forms
	// say which unit it was given in.
	Rate                   string  `json:"rate"`
	RateBitsPerSecond      float64 `json:"rate_bits_per_second,omitempty"`
	RateDatagramsPerSecond float64 `json:"rate_datagrams_per_second,omitempty"`
	// Duration is the requested sending time in seconds (0: until stopped).
	Duration float64 `json:"duration"`
	PRBS     bool    `json:"prbs"`
	// Network is "loopback", "netns-veth" or the peer's address.
	Network string `json:"network"`
	RxQueue int    `json:"rx_queue,omitempty"`
	// LowLatency says the endpoints of this process received in the
	// engine's low-latency mode (udp.WithLowLatency).
	LowLatency bool `json:"low_latency,omitempty"`
	// SpinUs is the low-latency spin in microseconds (0: none).
	SpinUs float64 `json:"spin_us,omitempty"`
	// TxCPU and RxCPU are the CPUs the sender and receiver threads were
	// pinned to, -1 when not pinned.
	TxCPU int `json:"tx_cpu"`
	RxCPU int `json:"rx_cpu"`
	// XDPModeRequested is the AF_XDP mode asked for (transport xdp only);
	// the modes granted are in sum_sent and sum_received.
	XDPModeRequested string `json:"xdp_mode_requested,omitempty"`
}

// TestInfo describes a case (after defaults).
func (c Case) TestInfo() TestInfo {
	network := "loopback"
	if c.Network != nil {
		network = "netns-veth"
	}
	ti := TestInfo{
		Transport:              c.Transport.String(),
		Payload:                c.Payload,
		Batch:                  c.Batch,
		MTU:                    c.MTU(),
		Rate:                   c.Rate.String(),
		RateBitsPerSecond:      c.Rate.BitsPerSecond,
		RateDatagramsPerSecond: c.Rate.DatagramsPerSecond,
		Duration:               c.Duration.Seconds(),
		PRBS:                   c.PRBS,
		LowLatency:             c.LowLatency,
		SpinUs:                 float64(c.Spin) / float64(time.Microsecond),
		Network:                network,
		RxQueue:                c.RxQueue,
		TxCPU:                  -1,
		RxCPU:                  -1,
	}
	if c.Transport == udp.TransportXDP {
		ti.XDPModeRequested = c.XDP.Mode.String()
	}
	return ti
}

// Totals are the figures common to the sending and the receiving side
// of a test.
type Totals struct {
	// Start and End are seconds since the test started; Seconds is the
	// span the rates are computed over.
	Start              float64 `json:"start"`
	End                float64 `json:"end"`
	Seconds            float64 `json:"seconds"`
	Bytes              uint64  `json:"bytes"`
	Packets            uint64  `json:"packets"`
	BitsPerSecond      float64 `json:"bits_per_second"`
	DatagramsPerSecond float64 `json:"datagrams_per_second"`
	// CPUUser and CPUSystem are seconds of CPU time of the side's
	// measured thread (or process, see CPUScope).
	CPUUser   float64 `json:"cpu_user"`
	CPUSystem float64 `json:"cpu_system"`
	// CPUNsPerDatagram is CPU nanoseconds (user + system) per datagram.
	CPUNsPerDatagram float64 `json:"cpu_ns_per_datagram"`
	// CPUScope says what the CPU figures cover: "thread" (the sending
	// or delivering OS thread) or "process".
	CPUScope string `json:"cpu_scope,omitempty"`
}

// SetRates fills the rates from counts and Seconds.
func (t *Totals) SetRates() {
	t.BitsPerSecond, t.DatagramsPerSecond = Rates(t.Bytes, t.Packets, t.Seconds)
}

// Rates turns byte and datagram counts over secs seconds into bit/s and
// datagrams/s; both stay 0 for an empty span rather than dividing by it.
func Rates(bytes, packets uint64, secs float64) (bitsPerSecond, datagramsPerSecond float64) {
	if secs <= 0 {
		return 0, 0
	}
	return float64(bytes) * 8 / secs, float64(packets) / secs
}

// ProcessCPUOf converts a process CPU usage into its report form.
func ProcessCPUOf(u cpu.Usage) ProcessCPU {
	return ProcessCPU{User: u.User.Seconds(), System: u.System.Seconds()}
}

// SetCPU records CPU time and its cost per datagram.
func (t *Totals) SetCPU(u cpu.Usage, scope string) {
	t.CPUUser, t.CPUSystem, t.CPUScope = u.User.Seconds(), u.System.Seconds(), scope
	t.CPUNsPerDatagram = u.PerItem(t.Packets)
}

// SentSummary is the sender's side of a test ("end.sum_sent").
type SentSummary struct {
	Totals
	// Errors counts datagrams the kernel refused (send errors).
	Errors uint64 `json:"errors"`
	// FirstError is the first send error, so that a run with Errors says
	// why ("message too long", "connection refused", a timeout).
	FirstError string `json:"first_error,omitempty"`
	// LostPackets, LostPercent and JitterMs are iperf3's keys, 0 as in
	// iperf3 3.12's sum_sent: a sender does not measure them (the
	// receiver's figures are in sum_received and the UDP summary).
	LostPackets uint64  `json:"lost_packets"`
	LostPercent float64 `json:"lost_percent"`
	JitterMs    float64 `json:"jitter_ms"`
	// GSO reports whether UDP segmentation offload was in use.
	GSO bool `json:"gso"`
	// XDPMode is the AF_XDP mode the kernel granted the sending socket
	// (udp.Stats.XDP.Mode; transport xdp only).
	XDPMode string `json:"xdp_mode,omitempty"`
	Sender  bool   `json:"sender"`
}

// ReceivedSummary is the receiver's side of a test ("end.sum_received").
type ReceivedSummary struct {
	Totals
	// LostPackets is datagrams sent minus datagrams received (or, without
	// a sender count, the gaps in the sequence); LostPercent is of those
	// sent.
	LostPackets uint64  `json:"lost_packets"`
	LostPercent float64 `json:"lost_percent"`
	// LossKnown is false when no sender count and no sequence numbers
	// were available (traffic from a foreign sender).
	LossKnown bool `json:"loss_known"`
	// OutOfOrder counts datagrams that arrived after a later one.
	OutOfOrder uint64 `json:"out_of_order"`
	// Restarts counts PRBS streams that started again at sequence 0 (a
	// Rogue generator restarted); sequence tracking starts afresh at each.
	Restarts uint64 `json:"restarts"`
	// JitterMs is the RFC 3550 interarrival jitter in milliseconds, from
	// the send times stamped into the datagrams (0 when they carry none:
	// PRBS frames, payloads under 16 bytes, senders other than udpperf).
	JitterMs float64 `json:"jitter_ms"`
	// KernelDrops counts what the kernel dropped for lack of receive
	// buffer room: udp.Stats.KernelDroppedBuffers, socket buffers,
	// which hold one datagram each except with gro, where one holds a run
	// of up to 128; with xdp, the AF_XDP socket's drops, in packets.
	// RingDrops counts frames dropped by a full receive queue. Both are
	// already part of LostPackets.
	KernelDrops uint64 `json:"kernel_drops"`
	RingDrops   uint64 `json:"ring_drops"`
	// PoolExhausted counts datagrams dropped because every receive buffer
	// was in use.
	PoolExhausted uint64 `json:"pool_exhausted"`
	// Oversize counts datagrams longer than the receiver's maximum payload
	// (a sender using jumbo datagrams towards a server without --jumbo),
	// dropped by the engine.
	Oversize uint64 `json:"oversize"`
	// Invalid counts datagrams the receiver could not use: malformed or
	// unexpected control messages.
	Invalid uint64 `json:"invalid"`
	// PRBSErrors counts frames that failed the PRBS check (any cause);
	// PRBSFirstError describes the first.
	PRBSErrors     uint64 `json:"prbs_errors"`
	PRBSFirstError string `json:"prbs_first_error,omitempty"`
	// GRO reports whether UDP receive offload was in use.
	GRO bool `json:"gro"`
	// XDPMode is the AF_XDP mode the kernel granted the receiving socket
	// (udp.Stats.XDP.Mode; transport xdp only).
	XDPMode string `json:"xdp_mode,omitempty"`
	Sender  bool   `json:"sender"`
}

// Interval is one progress report ("intervals[].sum"): what happened in
// [Start, End) seconds since the test started.
type Interval struct {
	Start              float64 `json:"start"`
	End                float64 `json:"end"`
	Seconds            float64 `json:"seconds"`
	Bytes              uint64  `json:"bytes"`
	Packets            uint64  `json:"packets"`
	BitsPerSecond      float64 `json:"bits_per_second"`
	DatagramsPerSecond float64 `json:"datagrams_per_second"`
	// LostPackets is the growth of the sequence gaps during the interval
	// (receiving side only).
	LostPackets uint64  `json:"lost_packets"`
	LostPercent float64 `json:"lost_percent"`
	KernelDrops uint64  `json:"kernel_drops"`
	RingDrops   uint64  `json:"ring_drops"`
	PRBSErrors  uint64  `json:"prbs_errors"`
	// JitterMs is the receiver's running jitter at the interval's end.
	JitterMs float64 `json:"jitter_ms"`
	// Omitted marks an interval of the warm-up (-O), left out of the
	// totals.
	Omitted bool `json:"omitted"`
	// SentPackets is what the sender sent in the interval, when this
	// process is the sender.
	SentPackets uint64 `json:"sent_packets,omitempty"`
	Sender      bool   `json:"sender"`
}

// IntervalRecord wraps an Interval as iperf3 does ("intervals[]"): one
// entry per stream, and their sum.
type IntervalRecord struct {
	Streams []StreamInterval `json:"streams"`
	Sum     Interval         `json:"sum"`
	// SumBidirReverse is the receiving direction of a --bidir test.
	SumBidirReverse *Interval `json:"sum_bidir_reverse,omitempty"`
}

// Timestamp is when a report started.
type Timestamp struct {
	Time     string `json:"time"`
	TimeSecs int64  `json:"timesecs"`
}

func TimestampOf(t time.Time) Timestamp {
	return Timestamp{Time: t.UTC().Format(time.RFC1123), TimeSecs: t.Unix()}
}

// Start is a report's "start" section. System and Test are udpperf's;
// the rest follow iperf3.
type Start struct {
	System    System    `json:"system"`
	Test      TestInfo  `json:"test"`
	Timestamp Timestamp `json:"timestamp"`
	IperfStart
}

// Result is the outcome of one case of bench.Run.
type Result struct {
	Test        TestInfo         `json:"test"`
	SumSent     SentSummary      `json:"sum_sent"`
	SumReceived ReceivedSummary  `json:"sum_received"`
	Process     ProcessCPU       `json:"process_cpu"`
	Intervals   []IntervalRecord `json:"intervals,omitempty"`
	// Error is set when the case could not be run; the figures are then
	// zero.
	Error string `json:"error,omitempty"`
}

// ProcessCPU is the CPU time of the whole process over a measurement
// (RUSAGE_SELF), which includes the Go runtime's own threads.
type ProcessCPU struct {
	User   float64 `json:"cpu_user"`
	System float64 `json:"cpu_system"`
}

// Failed reports whether the case failed to run or saw PRBS errors.
func (r Result) Failed() bool { return r.Error != "" || r.SumReceived.PRBSErrors > 0 }

// SweepInfo describes a sweep's setup ("start.test" of a sweep report).
type SweepInfo struct {
	Transports []string `json:"transports"`
	Payloads   []int    `json:"payloads"`
	Batches    []int    `json:"batches"`
	// Duration is seconds per case.
	Duration float64 `json:"duration"`
	Rate     string  `json:"rate"`
	PRBS     bool    `json:"prbs"`
	Network  string  `json:"network"`
	Cases    int     `json:"cases"`
	// Repeat is the number of runs of each case, when above 1.
	Repeat int `json:"repeat,omitempty"`
}

// SweepReport is the JSON document of udpperf bench and latency:
// "start" describes the machine and the sweep, "end.results" holds one
// entry per case.
type SweepReport[R any] struct {
	Start struct {
		System    System    `json:"system"`
		Test      SweepInfo `json:"test"`
		Timestamp Timestamp `json:"timestamp"`
	} `json:"start"`
	End struct {
		Results []R `json:"results"`
	} `json:"end"`
	// Error says why the sweep stopped early, if it did.
	Error string `json:"error,omitempty"`
}

// NewSweepReport assembles a sweep report started at start.
func NewSweepReport[R any](info SweepInfo, start time.Time, results []R) SweepReport[R] {
	var r SweepReport[R]
	r.Start.System = CollectSystem()
	r.Start.Test = info
	r.Start.Timestamp = TimestampOf(start)
	r.End.Results = results
	if r.End.Results == nil {
		r.End.Results = []R{}
	}
	return r
}

// AddCounts adds iv's counts to s; spans, rates and jitter are the
// caller's.
func (s *Interval) AddCounts(iv Interval) {
	s.Bytes += iv.Bytes
	s.Packets += iv.Packets
	s.LostPackets += iv.LostPackets
	s.KernelDrops += iv.KernelDrops
	s.RingDrops += iv.RingDrops
	s.PRBSErrors += iv.PRBSErrors
	s.SentPackets += iv.SentPackets
	s.Omitted = s.Omitted || iv.Omitted
}
