package iperf3

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// pin locks the calling goroutine to its thread and that thread to cpu;
// the returned function undoes both. A cpu below 0 pins nothing.
func pin(cpu int) (unpin func(), err error) {
	if cpu < 0 {
		return func() {}, nil
	}
	runtime.LockOSThread()
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, nil
}
