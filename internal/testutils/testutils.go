// Package testutils holds what the tests of several packages share: the
// goroutine leak check, polling for a condition, self-describing payload
// patterns, and (on Linux) the root check and throw-away veth pairs in
// network namespaces.
package testutils

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Leak fails t, when it ends, if goroutines started since this call are
// still running.
func Leak(t testing.TB) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// Eventually polls cond until it holds, failing t after d with what it
// waited for and the state functions' reports. Counters published by other
// goroutines are checked this way; nothing polls on a data path.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool, state ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("timed out after %v waiting for %s", d, what)
			for _, f := range state {
				msg += "; " + f()
			}
			t.Fatal(msg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// FillPattern fills b with a payload that identifies itself: seq in the
// first four bytes (little-endian) when they fit, and after them bytes
// derived from seq and their position.
func FillPattern(b []byte, seq uint32) {
	for i := range b {
		b[i] = patternByte(seq, i)
	}
	if len(b) >= 4 {
		binary.LittleEndian.PutUint32(b, seq)
	}
}

// Pattern returns a new n-byte FillPattern payload.
func Pattern(seq uint32, n int) []byte {
	b := make([]byte, n)
	FillPattern(b, seq)
	return b
}

// CheckPattern returns the sequence number of b and whether b is the
// pattern of that number and length. A payload shorter than four bytes
// carries no number: false.
func CheckPattern(b []byte) (uint32, bool) {
	if len(b) < 4 {
		return 0, false
	}
	seq := binary.LittleEndian.Uint32(b)
	return seq, MatchesPattern(b, seq)
}

// MatchesPattern reports whether b is the pattern of seq and its length.
func MatchesPattern(b []byte, seq uint32) bool {
	start := 0
	if len(b) >= 4 {
		if binary.LittleEndian.Uint32(b) != seq {
			return false
		}
		start = 4
	}
	for i := start; i < len(b); i++ {
		if b[i] != patternByte(seq, i) {
			return false
		}
	}
	return true
}

func patternByte(seq uint32, i int) byte { return byte(seq*31 + uint32(i)*7) }
