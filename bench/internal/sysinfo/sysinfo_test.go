package sysinfo

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestCollect(t *testing.T) {
	s := Collect()
	if s.GOOS != runtime.GOOS || s.GOARCH != runtime.GOARCH || s.CPUs < 1 || !strings.HasPrefix(s.GoVersion, "go") {
		t.Fatalf("collected %+v", s)
	}
	if runtime.GOOS == "linux" {
		rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
		if err == nil && strings.TrimSpace(string(rel)) != s.Kernel {
			t.Fatalf("kernel %q, /proc says %q", s.Kernel, rel)
		}
	}
	if h, _ := os.Hostname(); h != s.Hostname {
		t.Fatalf("hostname %q want %q", s.Hostname, h)
	}
}
