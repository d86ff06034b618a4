package iperf3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Num is an integer as iperf3 writes it: iperf3 3.12 prints every
// integral number through an unsigned 64-bit format, so -1 reaches the
// wire as 18446744073709551615. Num reads that (any value of 2^63 or more
// is taken as the unsigned form of a negative int64), plain integers and
// integral floats, and writes -1 as -1 (which 3.12 reads back as -1).
type Num int64

// UnmarshalJSON reads an integer, an unsigned 64-bit integer or a float
// with no fraction.
func (n *Num) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = Num(i)
		return nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		*n = Num(int64(u))
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<64 {
		return protoErr("not an integer: %.40q", s)
	}
	if f >= 1<<63 { // an unsigned value printed as a float
		*n = Num(int64(uint64(f)))
		return nil
	}
	*n = Num(int64(f))
	return nil
}

// Params is the test description a client sends after PARAM_EXCHANGE,
// with iperf3's keys. Keys that iperf3 writes only when set are omitted
// when zero.
type Params struct {
	UDP             bool   `json:"udp,omitempty"`
	TCP             bool   `json:"tcp,omitempty"`
	Omit            Num    `json:"omit"`
	Time            Num    `json:"time"`
	Num             Num    `json:"num"`
	Blockcount      Num    `json:"blockcount"`
	Parallel        Num    `json:"parallel"`
	Reverse         bool   `json:"reverse,omitempty"`
	Bidirectional   bool   `json:"bidirectional,omitempty"`
	Len             Num    `json:"len,omitempty"`
	Bandwidth       Num    `json:"bandwidth,omitempty"`
	PacingTimer     Num    `json:"pacing_timer,omitempty"`
	Window          Num    `json:"window,omitempty"`
	Title           string `json:"title,omitempty"`
	ExtraData       string `json:"extra_data,omitempty"`
	Counters64      Num    `json:"udp_counters_64bit,omitempty"`
	GetServerOutput Num    `json:"get_server_output,omitempty"`
	RepeatPayload   Num    `json:"repeating_payload,omitempty"`
	ClientVersion   string `json:"client_version,omitempty"`
	// Udpperf carries udpperf's extras; iperf3 ignores the key.
	Udpperf *Extras `json:"udpperf,omitempty"`
}

// Extras is what a udpperf peer adds to the parameters.
type Extras struct {
	// Version of the extras; 1 today.
	Version int `json:"version"`
	// Transport the client sends with ("mmsg" or "gso").
	Transport string `json:"transport,omitempty"`
	// PRBS: both directions' payloads are PRBS (see fillPRBS), checked by
	// the receiver.
	PRBS bool `json:"prbs,omitempty"`
}

// Limits a server applies to parameters (iperf3's client-side limits).
const (
	MinLen      = 16
	MaxLen      = 65507
	MaxParallel = 128
	MaxTime     = 86400
	MaxOmit     = 60
)

// ParseParams decodes and checks a parameter message.
func ParseParams(b []byte) (*Params, error) {
	var p Params
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, protoErr("params: %v", err)
	}
	return &p, p.Check()
}

// Check reports the first parameter out of range; a missing len or
// parallel is left to the caller's defaults.
func (p *Params) Check() error {
	switch {
	case p.UDP && p.Len != 0 && (p.Len < MinLen || p.Len > MaxLen): // TCP tests are refused later
		return protoErr("len %d outside %d..%d", p.Len, MinLen, MaxLen)
	case p.Parallel < 0 || p.Parallel > MaxParallel:
		return protoErr("parallel %d outside 1..%d", p.Parallel, MaxParallel)
	case p.Time < 0 || p.Time > MaxTime:
		return protoErr("time %d outside 0..%d", p.Time, MaxTime)
	case p.Omit < 0 || p.Omit > MaxOmit:
		return protoErr("omit %d outside 0..%d", p.Omit, MaxOmit)
	case p.Bandwidth < 0:
		return protoErr("bandwidth %d is negative", p.Bandwidth)
	case p.Num < 0 || p.Blockcount < 0:
		return protoErr("num or blockcount is negative")
	}
	return nil
}

// Streams returns how many streams the server receives on and sends on.
func (p *Params) Streams() (recv, send int) {
	n := int(p.Parallel)
	if n == 0 {
		n = 1
	}
	switch {
	case p.Bidirectional:
		return n, n
	case p.Reverse:
		return 0, n
	}
	return n, 0
}

// Results is what each side sends after EXCHANGE_RESULTS.
type Results struct {
	CPUUtilTotal         float64         `json:"cpu_util_total"`
	CPUUtilUser          float64         `json:"cpu_util_user"`
	CPUUtilSystem        float64         `json:"cpu_util_system"`
	SenderHasRetransmits Num             `json:"sender_has_retransmits"`
	ServerOutputText     string          `json:"server_output_text,omitempty"`
	ServerOutputJSON     json.RawMessage `json:"server_output_json,omitempty"`
	Streams              []StreamResults `json:"streams"`
	Udpperf              *ResultsExtras  `json:"udpperf,omitempty"`
}

// StreamResults is one stream's figures. Packets is the sent count for a
// sender, the highest counter seen for a receiver; Errors the receiver's
// lost count; Jitter in seconds; Bytes after the omit period.
type StreamResults struct {
	ID          Num     `json:"id"`
	Bytes       Num     `json:"bytes"`
	Retransmits Num     `json:"retransmits"`
	Jitter      float64 `json:"jitter"`
	Errors      Num     `json:"errors"`
	Packets     Num     `json:"packets"`
	StartTime   float64 `json:"start_time"`
	EndTime     float64 `json:"end_time"`
	// Udpperf: what a udpperf receiver counted beyond iperf3's figures.
	Udpperf *StreamExtras `json:"udpperf,omitempty"`
}

// StreamExtras are a udpperf receiver's own counts for one stream.
type StreamExtras struct {
	// Received datagrams that passed the checks (iperf3 only has
	// Packets - Errors).
	Received uint64 `json:"received"`
	// OutOfOrder: counters at or below the highest seen.
	OutOfOrder uint64 `json:"out_of_order"`
	// Malformed: datagrams shorter than the header.
	Malformed uint64 `json:"malformed"`
	// Outside: data that arrived before the test started or after it
	// ended (neither counted nor lost).
	Outside uint64 `json:"outside"`
	// PRBSErrors: with PRBS payloads, datagrams whose payload differs.
	PRBSErrors uint64 `json:"prbs_errors"`
}

// ResultsExtras are a udpperf side's per-cause drop counters.
type ResultsExtras struct {
	// KernelDrops: datagrams the kernel dropped on this side's data
	// sockets during the test (socket buffer full).
	KernelDrops uint64 `json:"kernel_drops"`
	// Transport the side sent or received with.
	Transport string `json:"transport,omitempty"`
}

// resultsRequired are the keys iperf3 3.12 insists on.
var (
	resultsRequired = []string{"cpu_util_total", "cpu_util_user", "cpu_util_system", "sender_has_retransmits", "streams"}
	streamRequired  = []string{"id", "bytes", "retransmits", "jitter", "errors", "packets"}
)

// ParseResults decodes a results message and checks that the keys iperf3
// requires are there.
func ParseResults(b []byte) (*Results, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, protoErr("results: %v", err)
	}
	if err := requireKeys(top, resultsRequired, "results"); err != nil {
		return nil, err
	}
	var streams []map[string]json.RawMessage
	if err := json.Unmarshal(top[findKey(top, "streams")], &streams); err != nil {
		return nil, protoErr("results streams: %v", err)
	}
	for i, s := range streams {
		if err := requireKeys(s, streamRequired, fmt.Sprintf("results stream %d", i)); err != nil {
			return nil, err
		}
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, protoErr("results: %v", err)
	}
	return &r, nil
}

// findKey finds a key case-insensitively, as iperf3's JSON reader does.
func findKey(m map[string]json.RawMessage, k string) string {
	if _, ok := m[k]; ok {
		return k
	}
	for have := range m {
		if strings.EqualFold(have, k) {
			return have
		}
	}
	return ""
}

func requireKeys(m map[string]json.RawMessage, keys []string, what string) error {
	for _, k := range keys {
		if findKey(m, k) == "" {
			return protoErr("%s: no %q", what, k)
		}
	}
	return nil
}
