package mmsg

// A GRO receive (and the buffer of a GSO send) holds a run of datagrams laid
// end to end: every datagram is segSize bytes except the last, which may be
// shorter. The helpers below recover the datagram boundaries from the total
// length and the segment size without allocating.

// Segments returns how many datagrams a buffer of n bytes holds when it was
// received with segment size segSize (Message.SegmentSize).
//
// A segSize of zero or less, or one not smaller than n, means the buffer is a
// single datagram, so the answer is 1, also for n == 0 (an empty datagram is
// still a datagram). A negative n holds nothing and yields 0.
func Segments(n, segSize int) int {
	if n < 0 {
		return 0
	}
	if segSize <= 0 || n <= segSize {
		return 1
	}
	return (n + segSize - 1) / segSize
}

// SegmentAt returns the offset and length of datagram i in a buffer of n bytes
// cut into segSize pieces, the last possibly shorter. It reports ok false when
// i is outside [0, Segments(n, segSize)).
func SegmentAt(n, segSize, i int) (off, length int, ok bool) {
	if i < 0 || i >= Segments(n, segSize) {
		return 0, 0, false
	}
	if segSize <= 0 || n <= segSize {
		return 0, n, true
	}
	off = i * segSize
	return off, min(segSize, n-off), true
}

// AppendSegments appends to dst one sub-slice of b per datagram in b, with b
// cut into segSize pieces as by [Segments], and returns the extended slice.
// The sub-slices share b's memory (nothing is copied) and have their capacity
// clipped to their length, so appending to one cannot overwrite the next.
// When dst has room for the segments it does not allocate.
func AppendSegments(dst [][]byte, b []byte, segSize int) [][]byte {
	n := len(b)
	if segSize <= 0 || n <= segSize {
		return append(dst, b[:n:n])
	}
	for off := 0; off < n; off += segSize {
		end := min(off+segSize, n)
		dst = append(dst, b[off:end:end])
	}
	return dst
}
