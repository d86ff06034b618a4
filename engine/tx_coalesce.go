package engine

import "unsafe"

// appendCoalesced appends the payload buffers of f to flat, as
// Frame.AppendBuffers does, but joins f's first buffer onto the last entry
// of the message that starts at flat[start] when the two lie back to back
// in the same slab chunk. Frames taken in order from a fresh slab are
// adjacent, so a GSO message of 44 datagrams of 1472 bytes reaches the
// kernel as one iovec instead of 44; the bytes and their order are the
// same, and the kernel copies one long iovec faster than many short ones.
func appendCoalesced(flat [][]byte, start int, f Frame) [][]byte {
	before := len(flat)
	flat, err := f.AppendBuffers(flat)
	// Only a single-buffer frame is joined, so the message never has more
	// iovecs than it would without joining (the caller's limit holds).
	if err != nil || before <= start || len(flat) != before+1 {
		return flat
	}
	chunk := f.st.segs[0].buf.chunk
	prev, next := flat[before-1], flat[before]
	if chunk == nil || len(prev) == 0 || len(next) == 0 {
		return flat
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(chunk)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(prev)))
	n := uintptr(unsafe.Pointer(unsafe.SliceData(next)))
	if p < base || p+uintptr(len(prev)) != n {
		return flat
	}
	// Both windows lie in chunk: prev starts in it and next, which is in
	// it, starts where prev ends.
	off := int(p - base)
	flat[before-1] = chunk[off : off+len(prev)+len(next) : off+len(prev)+len(next)]
	rest := copy(flat[before:], flat[before+1:])
	clear(flat[before+rest:])
	return flat[:before+rest]
}
