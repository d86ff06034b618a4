package sysinfo

import "golang.org/x/sys/unix"

// uname returns the kernel release, its version string and the machine.
func uname() (release, version, machine string) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "", "", ""
	}
	return unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Version[:]), unix.ByteSliceToString(u.Machine[:])
}
