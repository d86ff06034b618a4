// Package tools holds the project's C reference sender (csrc/refsend.c)
// and receiver (csrc/refrecv.c), which the comparison scripts of bench/
// build with the system C compiler and measure udpperf against. The package
// has no Go code of its own; its test builds both tools and runs them
// against each other on loopback.
package tools
