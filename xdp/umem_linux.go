//go:build linux

package xdp

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MapUMEM maps size bytes of anonymous, private, page-aligned memory for use
// as a UMEM region. The caller owns it: it outlives any Socket registered on
// it and is released with UnmapUMEM once every such socket is closed. size
// is rounded up to a whole number of pages.
func MapUMEM(size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("xdp: UMEM size %d must be positive", size)
	}
	page := os.Getpagesize()
	size = (size + page - 1) &^ (page - 1)
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("xdp: mmap UMEM of %d bytes: %w", size, err)
	}
	return b, nil
}

// UnmapUMEM releases a region returned by MapUMEM. Sockets using it must be
// closed first: the kernel keeps its own reference to the pages, but the
// caller's view of them disappears.
func UnmapUMEM(b []byte) error {
	if err := unix.Munmap(b); err != nil {
		return fmt.Errorf("xdp: munmap UMEM: %w", err)
	}
	return nil
}
