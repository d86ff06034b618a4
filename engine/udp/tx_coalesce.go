package udp

import "unsafe"

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
