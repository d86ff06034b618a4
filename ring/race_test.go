//go:build race

package ring

// raceEnabled scales concurrent tests down: the race detector slows
// atomics and channel operations by an order of magnitude.
const raceEnabled = true
