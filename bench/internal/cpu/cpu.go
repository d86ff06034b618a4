// Package cpu measures the CPU time a test spends, per OS thread and per
// process, and pins threads to CPUs so that sender and receiver do not
// compete for one core.
package cpu

import (
	"errors"
	"time"
)

// Usage is CPU time consumed, split into user and system time.
type Usage struct {
	User   time.Duration
	System time.Duration
}

// Total is user plus system time.
func (u Usage) Total() time.Duration { return u.User + u.System }

// Sub returns the CPU time consumed between an earlier sample and u.
func (u Usage) Sub(earlier Usage) Usage {
	return Usage{User: u.User - earlier.User, System: u.System - earlier.System}
}

// Add returns the sum of two usages.
func (u Usage) Add(v Usage) Usage {
	return Usage{User: u.User + v.User, System: u.System + v.System}
}

// PerItem divides the total CPU time over n items, in nanoseconds; 0 when
// n is 0.
func (u Usage) PerItem(n uint64) float64 {
	if n == 0 {
		return 0
	}
	return float64(u.Total().Nanoseconds()) / float64(n)
}

// ErrUnsupported is returned where the operating system offers no per-thread
// accounting or CPU affinity.
var ErrUnsupported = errors.New("cpu: not supported on this operating system")
