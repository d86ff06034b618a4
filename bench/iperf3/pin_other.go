//go:build !linux

package iperf3

import "errors"

// pin is not available here; a cpu below 0 asks for nothing.
func pin(cpu int) (unpin func(), err error) {
	if cpu < 0 {
		return func() {}, nil
	}
	return nil, errors.New("iperf3: CPU pinning needs Linux")
}
