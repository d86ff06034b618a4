// Package rate parses target send rates and paces a sender to them.
//
// A rate is written as iperf3 writes -b: a number with an optional SI
// suffix (k, M, G, T; powers of 1000) meaning bits per second of UDP
// payload, optionally followed by "bit/s" or "bps". With the suffix "pps"
// it is a datagram rate instead: "250kpps". 0 means as fast as possible.
package rate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is a target send rate: bits per second of payload or datagrams per
// second (one of them non-zero), or neither for "as fast as possible".
type Rate struct {
	BitsPerSecond      float64
	DatagramsPerSecond float64
}

// Unlimited reports whether the rate means "as fast as possible".
func (r Rate) Unlimited() bool { return r.BitsPerSecond <= 0 && r.DatagramsPerSecond <= 0 }

// PerSecond converts the rate into datagrams per second for datagrams of
// payload bytes; 0 when unlimited.
func (r Rate) PerSecond(payload int) float64 {
	switch {
	case r.DatagramsPerSecond > 0:
		return r.DatagramsPerSecond
	case r.BitsPerSecond > 0 && payload > 0:
		return r.BitsPerSecond / (8 * float64(payload))
	}
	return 0
}

// String formats the rate the way Parse reads it.
func (r Rate) String() string {
	switch {
	case r.DatagramsPerSecond > 0:
		return si(r.DatagramsPerSecond) + "pps"
	case r.BitsPerSecond > 0:
		return si(r.BitsPerSecond) + "bit/s"
	}
	return "max"
}

func si(v float64) string {
	for _, u := range []struct {
		div  float64
		name string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.div {
			return strconv.FormatFloat(v/u.div, 'g', 6, 64) + u.name
		}
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// Parse reads a rate: "0", "max", "1G", "500M", "2.5Gbit/s", "100kpps".
func Parse(s string) (Rate, error) {
	in := strings.TrimSpace(s)
	t := in
	switch strings.ToLower(t) {
	case "", "0", "max", "unlimited":
		return Rate{}, nil
	}
	pps := false
	for _, suffix := range []string{"pps"} {
		if strings.HasSuffix(strings.ToLower(t), suffix) {
			t, pps = t[:len(t)-len(suffix)], true
		}
	}
	if !pps {
		for _, suffix := range []string{"bit/s", "bps", "b/s"} {
			if strings.HasSuffix(strings.ToLower(t), suffix) {
				t = t[:len(t)-len(suffix)]
				break
			}
		}
	}
	mult := 1.0
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1e3
		case 'm', 'M':
			mult = 1e6
		case 'g', 'G':
			mult = 1e9
		case 't', 'T':
			mult = 1e12
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return Rate{}, fmt.Errorf("rate %q: want a number with optional k/M/G/T suffix (bit/s), or a datagram rate like 100kpps", in)
	}
	v *= mult
	if pps {
		return Rate{DatagramsPerSecond: v}, nil
	}
	return Rate{BitsPerSecond: v}, nil
}

// Pacer spreads datagrams evenly over time at a fixed rate. It allows
// catching up after the sender was held back, a batch at a time, so the
// average rate over a test is the target.
type Pacer struct {
	start  time.Time
	period float64 // nanoseconds per datagram; 0 = unlimited
}

// NewPacer returns a pacer for perSecond datagrams per second starting at
// start; perSecond <= 0 means no pacing.
func NewPacer(start time.Time, perSecond float64) *Pacer {
	p := &Pacer{start: start}
	if perSecond > 0 {
		p.period = 1e9 / perSecond
	}
	return p
}

// Next says how many datagrams (at most limit) may be sent at now, given
// that sent have been sent since start; when none may, wait is how long
// until the next one is due.
func (p *Pacer) Next(now time.Time, sent uint64, limit int) (n int, wait time.Duration) {
	if p.period == 0 {
		return limit, 0
	}
	elapsed := float64(now.Sub(p.start))
	due := uint64(elapsed/p.period) + 1 // the datagram at time 0 is due at once
	if due > sent {
		return int(min(due-sent, uint64(limit))), 0
	}
	next := time.Duration(float64(sent) * p.period)
	return 0, max(next-now.Sub(p.start), time.Microsecond)
}
