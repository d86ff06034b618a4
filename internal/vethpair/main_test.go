package vethpair

import (
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// The main goroutine keeps the process's first thread for itself, so no
// goroutine of a test (Do's among them) runs there. Tests retire threads on
// purpose; the runtime cannot end the first thread and would park it for
// good in a foreign namespace, and /proc/self/ns/net, which the tests take
// as the process's own namespace, reads that thread's.
func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
