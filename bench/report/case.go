package report

import (
	"errors"
	"fmt"
	"time"

	"udpstream.dev/bench/internal/rate"
	"udpstream.dev/bench/netns"
	"udpstream.dev/engine/udp"
	"udpstream.dev/xdp"
)

// Rate is a target send rate in payload bits per second or datagrams per
// second; the zero Rate means as fast as possible.
type Rate = rate.Rate

// ParseRate reads a rate as udpperf's --rate flag does: "0" or "max" (no
// limit), a number with an optional k/M/G/T suffix in payload bit/s
// ("500M", "2.5G", "1Gbit/s"), or a datagram rate ("100kpps").
func ParseRate(s string) (Rate, error) {
	return rate.Parse(s)
}

// Defaults of a Case.
const (
	DefaultPayload  = udp.MaxPayloadStandard
	DefaultBatch    = udp.DefaultBatch
	DefaultDuration = 2 * time.Second
	// DefaultInterval is the time between progress reports of udpperf
	// server and client.
	DefaultInterval = time.Second
	// DefaultRxBuffer is the receive socket buffer a case asks for, the
	// size the C reference receiver uses, so both are measured alike.
	DefaultRxBuffer = 64 << 20
	// MinPayload is the smallest datagram that carries a sequence number.
	MinPayload = 8
	// MinPRBSPayload is the smallest Rogue PRBS frame (three 32-bit words).
	MinPRBSPayload = 12
)

// PRBSWidth is the PRBS word width udpperf uses, Rogue's default.
const PRBSWidth = 32

// Case describes one measurement: one sender and one receiver in this
// process. The zero value of every field but Transport means its default.
type Case struct {
	Transport udp.Transport
	// Payload is the UDP payload of each datagram in bytes (default 1472).
	// Payloads above 1472 use jumbo endpoints (up to 8972).
	Payload int
	// Batch is the number of messages per system call (default 64); the
	// naive transport always moves one.
	Batch int
	// Duration is how long the sender sends (default 2 s).
	Duration time.Duration
	// Rate is the target send rate; zero is as fast as possible.
	Rate Rate
	// PRBS sends Rogue PRBS frames and checks every byte on receipt.
	PRBS bool
	// RxQueue is the receiver's delivery queue depth (udp.WithRxQueue);
	// 0 delivers on the receive goroutine.
	RxQueue int
	// LowLatency opens both ends with udp.WithLowLatency: receive threads
	// that sleep in the kernel and deliver inline.
	LowLatency bool
	// Spin is the low-latency receive threads' spin before they sleep
	// (udp.WithLowLatencySpin).
	Spin time.Duration
	// RxBuffer is the receive socket buffer in bytes (default 64 MiB).
	RxBuffer int
	// NoPin leaves sender and receiver threads unpinned.
	NoPin bool
	// Network, when set, runs the receiver and the sender in the two
	// namespaces of a veth pair instead of on loopback.
	Network *netns.Namespaces
	// XDP is the interface of the xdp transport; bench.Run takes the veth ends
	// of Network, which the xdp transport needs.
	XDP XDP
	// Interval, with OnInterval, reports progress every Interval.
	Interval   time.Duration
	OnInterval func(Interval)
	// HelloWarmup marks the warm-up test of client -O in its hello; reverse
	// asks the server to send (client -R).
	HelloWarmup, HelloReverse bool
}

// WithDefaults fills in the defaults.
func (c Case) WithDefaults() Case {
	if c.Payload == 0 {
		c.Payload = DefaultPayload
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.Transport == udp.TransportNaive {
		c.Batch = 1
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.RxBuffer == 0 {
		c.RxBuffer = DefaultRxBuffer
	}
	return c
}

// Jumbo reports whether the case needs jumbo endpoints (MTU 9000).
func (c Case) Jumbo() bool { return c.Payload > udp.MaxPayloadStandard }

// MTU is the link MTU the case's payload needs: 1500 or 9000.
func (c Case) MTU() int {
	if c.Jumbo() {
		return 9000
	}
	return 1500
}

// Validate reports every problem of a case (after defaults) in one error.
func (c Case) Validate() error {
	err := c.ValidateSide()
	if c.Transport == udp.TransportXDP && c.Network == nil {
		// Sender and receiver in one process cannot share one interface
		// queue.
		err = errors.Join(err, errors.New("transport xdp runs across a veth pair: use Network (--netns)"))
	}
	return err
}

// ValidateSide checks what one side of a test needs on its own, as
// Transmit does: Validate without the constraints of running both sides
// in one process.
func (c Case) ValidateSide() error {
	c = c.WithDefaults()
	var errs []error
	if err := CheckTransport(c.Transport); err != nil {
		errs = append(errs, err)
	}
	if err := checkPayload(c.Payload, c.PRBS); err != nil {
		errs = append(errs, err)
	}
	if c.Batch < 1 || c.Batch > udp.MaxBatch {
		errs = append(errs, fmt.Errorf("batch %d outside 1..%d", c.Batch, udp.MaxBatch))
	}
	if c.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration %v is negative", c.Duration))
	}
	if c.RxQueue < 0 {
		errs = append(errs, fmt.Errorf("receive queue depth %d is negative", c.RxQueue))
	}
	if c.RxBuffer < 0 {
		errs = append(errs, fmt.Errorf("receive buffer %d is negative", c.RxBuffer))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %v is negative", c.Interval))
	}
	return errors.Join(errs...)
}

// ErrXDPNeedsInterface is returned for the xdp transport without an
// interface to bind to.
var ErrXDPNeedsInterface = errors.New("transport xdp needs a network interface: run it across a veth pair (--netns) or name one (--iface, --queue)")

// XDP names the interface and queue the AF_XDP sockets of the xdp
// transport bind to, and the mode they ask for (udp.WithXDP). Across
// Namespaces both sides use their veth end, queue 0, and an XDP with only
// Mode set will do.
type XDP struct {
	Iface string
	Queue int
	Mode  xdp.Mode
}

// CheckTransport reports whether udpperf can measure transport t.
func CheckTransport(t udp.Transport) error {
	switch t {
	case udp.TransportNaive, udp.TransportMmsg, udp.TransportGRO, udp.TransportXDP:
		return nil
	}
	return fmt.Errorf("unknown transport %v", t)
}

func checkPayload(n int, prbs bool) error {
	switch {
	case n > udp.MaxPayloadJumbo:
		return fmt.Errorf("payload %d exceeds the %d-byte maximum of a jumbo datagram", n, udp.MaxPayloadJumbo)
	case prbs && n < MinPRBSPayload:
		return fmt.Errorf("payload %d is below the %d-byte minimum of a PRBS frame", n, MinPRBSPayload)
	case prbs && n%(PRBSWidth/8) != 0:
		return fmt.Errorf("payload %d is not a multiple of the %d-byte PRBS word", n, PRBSWidth/8)
	case n < MinPayload:
		return fmt.Errorf("payload %d is below the %d bytes of the sequence header", n, MinPayload)
	}
	return nil
}

// String names the case in progress lines: "mmsg 1472 B batch 64".
func (c Case) String() string {
	c = c.WithDefaults()
	s := fmt.Sprintf("%s %d B batch %d", c.Transport, c.Payload, c.Batch)
	if c.PRBS {
		s += " prbs"
	}
	if !c.Rate.Unlimited() {
		s += " rate " + c.Rate.String()
	}
	if c.Network != nil {
		s += " netns"
	}
	return s
}

// Cases returns the cross product transports x payloads x batches on top
// of base. The naive transport, which moves one datagram per call, gets
// one case per payload whatever the batch list.
func Cases(base Case, transports []udp.Transport, payloads, batches []int) []Case {
	var out []Case
	for _, t := range transports {
		for _, p := range payloads {
			bs := batches
			if t == udp.TransportNaive || len(bs) == 0 {
				bs = []int{0}
			}
			for _, b := range bs {
				c := base
				c.Transport, c.Payload, c.Batch = t, p, b
				out = append(out, c.WithDefaults())
			}
		}
	}
	return out
}
