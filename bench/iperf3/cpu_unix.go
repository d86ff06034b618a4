//go:build unix

package iperf3

import (
	"syscall"
	"time"
)

// cpuNow returns the process's user and system CPU time so far.
func cpuNow() (user, sys time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
