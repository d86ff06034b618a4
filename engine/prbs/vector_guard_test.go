//go:build linux

package prbs

import (
	"testing"

	"golang.org/x/sys/unix"
)

// guarded returns a page of memory between two inaccessible pages, so
// that a read or write just outside it faults.
func guarded(t *testing.T) []byte {
	page := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 3*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	if err := unix.Mprotect(mem[:page], unix.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	if err := unix.Mprotect(mem[2*page:], unix.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return mem[page : 2*page]
}

// TestVectorStaysInBounds runs the fill and check paths on bodies and
// frames that start or end at an inaccessible page: any access outside
// the slice crashes the test.
func TestVectorStaysInBounds(t *testing.T) {
	mem := guarded(t)
	for _, width := range []int{32, 64, 128, 256, 512} {
		p, _ := defaultPattern(width)
		wb := width / 8
		prev := make([]byte, wb)
		prev[0] = 0x5d
		for words := 1; words <= 70 && words*wb <= len(mem); words++ {
			n := words * wb
			for _, body := range [][]byte{mem[:n], mem[len(mem)-n:]} {
				fillChunks(body, prev, p)
				if at := checkChunks(body, prev, p); at != words {
					t.Fatalf("width %d, %d words: reference check fails at %d", width, words, at)
				}
				if vecWidth(p) {
					vecFill(body, prev, p)
					if at := vecCheck(body, prev, p); at != words {
						t.Fatalf("width %d, %d words: vector check fails at %d", width, words, at)
					}
				}
			}
			if words >= 3 {
				frame := mem[len(mem)-n:]
				if err := Fill(frame, 9, width); err != nil {
					t.Fatal(err)
				}
				if _, err := Verify(frame, width); err != nil {
					t.Fatalf("width %d, %d words: %v", width, words, err)
				}
			}
		}
	}
}
