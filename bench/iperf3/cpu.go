package iperf3

import "time"

// cpuMark is a starting point for CPU utilisation as iperf3 reports it:
// percent of one CPU over wall time, for the whole process (with several
// tests at once a server's figure covers them all).
type cpuMark struct {
	wall      time.Time
	user, sys time.Duration
}

func markCPU() cpuMark {
	u, s := cpuNow()
	return cpuMark{wall: time.Now(), user: u, sys: s}
}

// CPU is utilisation in percent of one CPU.
type CPU struct{ Total, User, System float64 }

func (m cpuMark) since() CPU {
	u, s := cpuNow()
	wall := time.Since(m.wall).Seconds()
	if wall <= 0 {
		return CPU{}
	}
	us := (u - m.user).Seconds() / wall * 100
	sy := (s - m.sys).Seconds() / wall * 100
	return CPU{Total: us + sy, User: us, System: sy}
}
