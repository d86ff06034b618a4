package mmsg

import "time"

// DefaultWakePeriod is the longest a blocking read (Conn.SetBlockingReads)
// sleeps before it returns to its caller without a datagram.
const DefaultWakePeriod = 5 * time.Millisecond

// MaxReadSpin bounds Conn.SetReadSpin.
const MaxReadSpin = 10 * time.Millisecond
