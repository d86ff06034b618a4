//go:build !unix

package iperf3

import "time"

// cpuNow is not measured on this system.
func cpuNow() (user, sys time.Duration) { return 0, 0 }
