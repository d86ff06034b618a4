package report

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"udpstream.dev/bench/internal/cpu"
)

// This file holds the parts of udpperf's JSON that follow iperf3's UDP
// output (iperf3 -u -J), so that scripts written for iperf3 find their
// keys with the same meaning and type: start.test_start, intervals[].streams,
// end.sum, end.streams[].udp, jitter_ms and cpu_utilization_percent.

// SessionID identifies a client's test. It is a random 64-bit number,
// which JSON readers holding numbers as doubles (jq, JavaScript) would
// round beyond 2^53, so JSON carries it as a string: 16 hex digits, as the
// server's session lines print it.
type SessionID uint64

// String is the 16-digit hex form.
func (id SessionID) String() string { return fmt.Sprintf("%016x", uint64(id)) }

// MarshalJSON writes the hex string.
func (id SessionID) MarshalJSON() ([]byte, error) { return []byte(`"` + id.String() + `"`), nil }

// UnmarshalJSON reads the hex string.
func (id *SessionID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("session id: want a hex string: %w", err)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return fmt.Errorf("session id %q: %w", s, err)
	}
	*id = SessionID(v)
	return nil
}

// IperfStart holds the fields of iperf3's "start" section.
type IperfStart struct {
	Version    string `json:"version"`
	SystemInfo string `json:"system_info"`
	// Connected lists the streams' sockets; Socket is the stream's number
	// (iperf3 puts its file descriptor there).
	Connected []Connection `json:"connected"`
	// ConnectingTo is the server a client sends to.
	ConnectingTo *Endpoint `json:"connecting_to,omitempty"`
	// AcceptedConnection is, for a server, the client of the last test.
	AcceptedConnection *Endpoint `json:"accepted_connection,omitempty"`
	// Cookie is the session id of a client's test (empty for a server).
	Cookie        string    `json:"cookie"`
	TargetBitrate float64   `json:"target_bitrate"`
	TestStart     TestStart `json:"test_start"`
}

// Connection is one stream's addresses ("start.connected[]").
type Connection struct {
	Socket     int    `json:"socket"`
	LocalHost  string `json:"local_host"`
	LocalPort  int    `json:"local_port"`
	RemoteHost string `json:"remote_host"`
	RemotePort int    `json:"remote_port"`
}

// Endpoint is a host and port ("start.connecting_to").
type Endpoint struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// TestStart is iperf3's "start.test_start". Bytes, Blocks, Reverse and
// Tos are iperf3's -n, -k, -R and -S, which udpperf does not have: they
// stay 0, which is iperf3's value when they are not given.
type TestStart struct {
	Protocol   string `json:"protocol"`
	NumStreams int    `json:"num_streams"`
	// Blksize is the UDP payload per datagram in bytes.
	Blksize int `json:"blksize"`
	// Omit and Duration are seconds (iperf3 -O and -t).
	Omit     float64 `json:"omit"`
	Duration float64 `json:"duration"`
	Bytes    uint64  `json:"bytes"`
	Blocks   uint64  `json:"blocks"`
	Reverse  int     `json:"reverse"`
	Tos      int     `json:"tos"`
	// TargetBitrate is payload bit/s; 0 is as fast as possible.
	TargetBitrate float64 `json:"target_bitrate"`
}

// StreamInterval is one stream's part of an interval
// ("intervals[].streams[]").
type StreamInterval struct {
	Socket int `json:"socket"`
	Interval
}

// NewIntervalRecord is the "intervals[]" entry of a one-stream test.
func NewIntervalRecord(iv Interval) IntervalRecord {
	return IntervalRecord{Streams: []StreamInterval{{Socket: 1, Interval: iv}}, Sum: iv}
}

// UDPSum is iperf3's UDP summary ("end.sum"): as in iperf3 3.12, Packets
// and Bytes are what was sent (on a receiver without a sender's count:
// received plus lost), the loss and jitter what the receiver measured.
type UDPSum struct {
	Start         float64 `json:"start"`
	End           float64 `json:"end"`
	Seconds       float64 `json:"seconds"`
	Bytes         uint64  `json:"bytes"`
	BitsPerSecond float64 `json:"bits_per_second"`
	JitterMs      float64 `json:"jitter_ms"`
	LostPackets   uint64  `json:"lost_packets"`
	Packets       uint64  `json:"packets"`
	LostPercent   float64 `json:"lost_percent"`
	Sender        bool    `json:"sender"`
	// LossKnown is udpperf's: false when no receiver's figures (client
	// --raw) or no sequence information (a foreign sender) were available,
	// so the loss and jitter figures are not measurements.
	LossKnown bool `json:"loss_known"`
}

// StreamSum is one stream's summary ("end.streams[].udp").
type StreamSum struct {
	Socket int `json:"socket"`
	UDPSum
	OutOfOrder uint64 `json:"out_of_order"`
}

// EndStream wraps a stream's summary as iperf3 does ("end.streams[]").
type EndStream struct {
	UDP StreamSum `json:"udp"`
}

// HostCPU is a process's CPU use over a test in percent of one CPU: user
// plus system time over wall time, as iperf3 computes it.
type HostCPU struct {
	HostTotal  float64 `json:"host_total"`
	HostUser   float64 `json:"host_user"`
	HostSystem float64 `json:"host_system"`
}

// CPUUtilization is iperf3's "end.cpu_utilization_percent": this process
// (host) and the server's (remote, reported at the end of the test; 0 with
// --raw, where there is no server to ask).
type CPUUtilization struct {
	HostCPU
	RemoteTotal  float64 `json:"remote_total"`
	RemoteUser   float64 `json:"remote_user"`
	RemoteSystem float64 `json:"remote_system"`
}

// HostCPUOf turns CPU time over a wall-clock span into percentages.
func HostCPUOf(u cpu.Usage, wall time.Duration) HostCPU {
	if wall <= 0 {
		return HostCPU{}
	}
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / wall.Seconds() }
	return HostCPU{HostTotal: pct(u.Total()), HostUser: pct(u.User), HostSystem: pct(u.System)}
}

// SessionCPU is the process's CPU use since a session's hello.
func SessionCPU(start cpu.Usage, since time.Time) HostCPU {
	now, err := cpu.Process()
	if err != nil || since.IsZero() {
		return HostCPU{}
	}
	return HostCPUOf(now.Sub(start), time.Since(since))
}

// systemInfo is iperf3's one-line "system_info" (uname -a in spirit).
func systemInfo(s System) string {
	return fmt.Sprintf("%s %s %s %s %s", s.GOOS, s.Hostname, s.Kernel, s.KernelVersion, s.Machine)
}

// version is iperf3's "version": the tool and its build.
func version(s System) string {
	v := s.ModuleVersion
	if v == "" {
		v = "(devel)"
	}
	return "udpperf " + v
}

// targetBitrate is the target as payload bit/s (0: as fast as possible).
func targetBitrate(t TestInfo) float64 {
	if t.RateDatagramsPerSecond > 0 {
		return t.RateDatagramsPerSecond * float64(t.Payload) * 8
	}
	return t.RateBitsPerSecond
}

// FillIperfStart fills the iperf3 fields of a start section.
func FillIperfStart(st *Start, omit time.Duration, conn Connection) {
	st.Version, st.SystemInfo = version(st.System), systemInfo(st.System)
	st.Connected = []Connection{conn}
	st.TargetBitrate = targetBitrate(st.Test)
	st.TestStart = TestStart{
		Protocol: "UDP", NumStreams: 1, Blksize: st.Test.Payload,
		Omit: omit.Seconds(), Duration: st.Test.Duration, TargetBitrate: st.TargetBitrate,
	}
}

// ConnectionOf describes a socket's two ends; either may be unknown.
func ConnectionOf(local, remote netip.AddrPort) Connection {
	c := Connection{Socket: 1, LocalPort: int(local.Port()), RemotePort: int(remote.Port())}
	if local.Addr().IsValid() {
		c.LocalHost = local.Addr().String()
	}
	if remote.Addr().IsValid() {
		c.RemoteHost = remote.Addr().String()
	}
	return c
}

// FillStreams adds the per-stream entries of a one-stream test's
// intervals.
func FillStreams(ivs []IntervalRecord) {
	for i := range ivs {
		if ivs[i].Streams == nil {
			ivs[i] = NewIntervalRecord(ivs[i].Sum)
		}
	}
}
