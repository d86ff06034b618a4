//go:build linux

package udp

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinSelf restricts every thread of this process (and so the threads it
// creates later) to one CPU, and returns the function that lifts it.
func pinSelf(cpu int) func() {
	var one, all unix.CPUSet
	one.Set(cpu)
	if unix.SchedGetaffinity(0, &all) != nil {
		return func() {}
	}
	set := func(s *unix.CPUSet) {
		tasks, _ := os.ReadDir("/proc/self/task")
		for _, t := range tasks {
			if tid, err := strconv.Atoi(t.Name()); err == nil {
				unix.SchedSetaffinity(tid, s)
			}
		}
	}
	set(&one)
	return func() { set(&all) }
}
