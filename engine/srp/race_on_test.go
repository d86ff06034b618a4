//go:build race

package srp

// raceEnabled reports a -race build, where the long random runs shrink:
// the full-length runs prove the counts, the race runs the concurrency.
const raceEnabled = true
