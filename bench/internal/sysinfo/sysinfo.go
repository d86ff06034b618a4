// Package sysinfo describes the machine and build a measurement ran on, for
// the "start.system" section of a report: figures are only comparable
// between runs that say where they came from.
package sysinfo

import (
	"os"
	"runtime"
	"runtime/debug"
)

// System identifies the host, kernel, Go toolchain and udpperf build.
type System struct {
	Hostname      string `json:"hostname"`
	Kernel        string `json:"kernel"`
	KernelVersion string `json:"kernel_version,omitempty"`
	Machine       string `json:"machine,omitempty"`
	GOOS          string `json:"goos"`
	GOARCH        string `json:"goarch"`
	GoVersion     string `json:"go_version"`
	CPUs          int    `json:"cpus"`
	Module        string `json:"module,omitempty"`
	ModuleVersion string `json:"module_version,omitempty"`
	Revision      string `json:"vcs_revision,omitempty"`
}

// Collect gathers the description of this process's machine and build.
func Collect() System {
	s := System{
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
		GoVersion: runtime.Version(),
		CPUs:      runtime.NumCPU(),
	}
	s.Hostname, _ = os.Hostname()
	s.Kernel, s.KernelVersion, s.Machine = uname()
	if bi, ok := debug.ReadBuildInfo(); ok {
		s.Module = bi.Main.Path
		s.ModuleVersion = bi.Main.Version
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" {
				s.Revision = kv.Value
			}
		}
	}
	return s
}
