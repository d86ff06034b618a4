package cpu

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

func fromRusage(r *unix.Rusage) Usage {
	return Usage{
		User:   time.Duration(r.Utime.Nano()),
		System: time.Duration(r.Stime.Nano()),
	}
}

// Thread returns the CPU time of the calling OS thread (RUSAGE_THREAD).
// The caller must have locked its goroutine to the thread
// (runtime.LockOSThread) for successive samples to describe one thread.
func Thread() (Usage, error) {
	var r unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &r); err != nil {
		return Usage{}, fmt.Errorf("cpu: getrusage(RUSAGE_THREAD): %w", err)
	}
	return fromRusage(&r), nil
}

// Process returns the CPU time of the whole process (RUSAGE_SELF).
func Process() (Usage, error) {
	var r unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &r); err != nil {
		return Usage{}, fmt.Errorf("cpu: getrusage(RUSAGE_SELF): %w", err)
	}
	return fromRusage(&r), nil
}

// Allowed returns the CPUs the calling thread may run on, in increasing
// order.
func Allowed() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("cpu: sched_getaffinity: %w", err)
	}
	var cpus []int
	for i := 0; i < len(set)*64 && len(cpus) < set.Count(); i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// Affinity is a saved CPU mask of one thread, to be restored after pinning.
type Affinity struct {
	tid int
	set unix.CPUSet
}

// Pin restricts thread tid (0: the calling thread) to one CPU and returns
// its previous mask. The calling goroutine should be locked to its thread.
func Pin(tid, cpu int) (Affinity, error) {
	var a Affinity
	if err := unix.SchedGetaffinity(tid, &a.set); err != nil {
		return a, fmt.Errorf("cpu: sched_getaffinity(%d): %w", tid, err)
	}
	if tid == 0 {
		tid = unix.Gettid()
	}
	a.tid = tid
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(tid, &one); err != nil {
		return a, fmt.Errorf("cpu: pin thread %d to CPU %d: %w", tid, cpu, err)
	}
	return a, nil
}

// Restore gives the thread its saved mask back. A thread that has exited
// needs nothing restored.
func (a Affinity) Restore() error {
	if a.tid == 0 {
		return nil
	}
	err := unix.SchedSetaffinity(a.tid, &a.set)
	if err == unix.ESRCH {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cpu: restore affinity of thread %d: %w", a.tid, err)
	}
	return nil
}
