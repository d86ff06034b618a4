package mmsg

// A GRO receive (and the buffer of a GSO send) holds a run of datagrams laid
// end to end: every datagram is segSize bytes except the last, which may be
// shorter. The helpers below recover the datagram boundaries from the total
// length and the segment size without allocating.

// segments returns how many datagrams a buffer of n bytes holds when it was
// received with segment size segSize (Message.SegmentSize); Message.Datagrams
// is its public face.
//
// A segSize of zero or less, or one not smaller than n, means the buffer is a
// single datagram, so the answer is 1, also for n == 0 (an empty datagram is
// still a datagram). A negative n holds nothing and yields 0.
func segments(n, segSize int) int {
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
// i is outside [0, Message.Datagrams()) of a message with N n and SegmentSize
// segSize.
func SegmentAt(n, segSize, i int) (off, length int, ok bool) {
	if i < 0 || i >= segments(n, segSize) {
		return 0, 0, false
	}
	if segSize <= 0 || n <= segSize {
		return 0, n, true
	}
	off = i * segSize
	return off, min(segSize, n-off), true
}
