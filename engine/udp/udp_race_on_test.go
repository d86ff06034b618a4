//go:build race

package udp_test

// raceEnabled reports a -race build, where the data-heavy stream tests
// shorten the runs that only repeat what the full-length run proves.
const raceEnabled = true
