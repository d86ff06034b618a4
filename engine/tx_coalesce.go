package engine

import "unsafe"

// txWindow is the transmit fast path's look at a frame: in one visit to its
// state it checks what checkFrame checks and returns the payload size and,
// for a frame of one buffer carved from a slab chunk, its payload as a
// window of the chunk whose capacity runs to the chunk's end, so that
// joinWindow can later extend it over the frame that follows it in memory.
// A frame of one heap buffer gets a window with no spare capacity. ok is
// false when the frame needs the slow path: released, errored, oversize,
// empty, or spread over several buffers. checkFrame then decides, counts
// and logs.
func txWindow(f Frame, maxPayload int) (n int, win []byte, ok bool) {
	st := f.st
	if st == nil || st.gen.Load() != f.gen || st.err != 0 || len(st.segs) != 1 {
		return 0, nil, false
	}
	s := &st.segs[0]
	n = s.n
	if n <= 0 || n > maxPayload {
		return 0, nil, false
	}
	b := s.buf
	if b.Chunk == nil {
		return n, b.Mem[s.lo : s.lo+n : s.lo+n], true
	}
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(b.Mem)))-uintptr(unsafe.Pointer(unsafe.SliceData(b.Chunk)))) + s.lo
	return n, b.Chunk[off : off+n], true
}

// joinWindow appends w to the message that starts at flat[start], joining
// it onto the message's last iovec when w begins where that iovec ends
// inside the same slab chunk. Frames taken in order from a fresh slab are
// adjacent, so a GSO message of 44 datagrams of 1472 bytes reaches the
// kernel as one iovec instead of 44: the bytes and their order are the
// same, and the kernel copies one long iovec faster than many short ones.
//
// Only windows from txWindow carry spare capacity, and that capacity ends
// with their chunk; so when the last iovec's capacity covers w and w starts
// at its end, w lies in the same chunk and the extended slice is sound.
func joinWindow(flat [][]byte, start int, w []byte) [][]byte {
	if last := len(flat) - 1; last >= start {
		prev := flat[last]
		end := uintptr(unsafe.Pointer(unsafe.SliceData(prev))) + uintptr(len(prev))
		if cap(prev)-len(prev) >= len(w) && end == uintptr(unsafe.Pointer(unsafe.SliceData(w))) {
			flat[last] = prev[:len(prev)+len(w)]
			return flat
		}
	}
	return append(flat, w)
}
