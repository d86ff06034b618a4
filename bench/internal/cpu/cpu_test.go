package cpu

import (
	"runtime"
	"testing"
	"time"
)

var sink uint64

// work burns a fixed amount of CPU, however busy the machine is.
func work(units int) {
	x := uint64(1)
	for i := 0; i < units*20_000_000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink += x
}

func TestThreadCountsOwnWorkOnly(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := must(Thread())
	procBefore := must(Process())
	// Another thread does five times the work of this one.
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		work(5)
		close(done)
	}()
	<-done
	work(1)
	mine := must(Thread()).Sub(before).Total()
	all := must(Process()).Sub(procBefore).Total()
	if mine <= 0 || all <= 0 {
		t.Fatalf("no CPU time measured: thread %v, process %v", mine, all)
	}
	if float64(mine) > 0.5*float64(all) {
		t.Fatalf("this thread used %v of the process's %v: it counts the other thread's work", mine, all)
	}
}

func must(u Usage, err error) Usage {
	if err != nil {
		panic(err)
	}
	return u
}

func TestPinAndRestore(t *testing.T) {
	cpus, err := Allowed()
	if err != nil || len(cpus) == 0 {
		t.Fatalf("allowed CPUs: %v %v", cpus, err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	last := cpus[len(cpus)-1]
	saved, err := Pin(0, last)
	if err != nil {
		t.Fatal(err)
	}
	now, _ := Allowed()
	if len(now) != 1 || now[0] != last {
		t.Fatalf("after pin: %v", now)
	}
	if err := saved.Restore(); err != nil {
		t.Fatal(err)
	}
	if back, _ := Allowed(); len(back) != len(cpus) {
		t.Fatalf("after restore: %v, want %v", back, cpus)
	}
}

func TestArithmetic(t *testing.T) {
	a := Usage{User: 3 * time.Second, System: time.Second}
	b := Usage{User: time.Second, System: time.Second}
	if a.Sub(b) != (Usage{User: 2 * time.Second}) || a.Add(b).Total() != 6*time.Second {
		t.Fatal("Sub/Add")
	}
	if a.PerItem(4) != 1e9 || a.PerItem(0) != 0 {
		t.Fatalf("PerItem %v", a.PerItem(4))
	}
}
