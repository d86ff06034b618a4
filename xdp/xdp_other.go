//go:build !linux

package xdp

// MapUMEM is only available on Linux.
func MapUMEM(size int) ([]byte, error) { return nil, ErrNotSupported }

// UnmapUMEM is only available on Linux.
func UnmapUMEM(b []byte) error { return ErrNotSupported }
