//go:build !linux

package sysinfo

// uname is unknown outside Linux.
func uname() (release, version, machine string) { return "", "", "" }
