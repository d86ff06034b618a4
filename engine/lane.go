package engine

import (
	"sync/atomic"
	"unsafe"
)

// Lanes spread goroutines that run at the same time over the shards of the
// per-core structures (the free-buffer and frame-body caches, the
// allocation counters) without pinning a goroutine to its P, which only a
// runtime-internal call can do.
//
// Goroutines running at once have different stacks, so the address of a
// local variable, hashed, tells them apart: that is the goroutine's slot.
// A slot's lane is the slot plus an offset from laneOffsets, and a shard is
// chosen as lane modulo the shard count. When a goroutine finds its shard
// locked by another, it bumps its slot's offset (moveLane) and so moves to
// the next shard: goroutines that met once stop meeting, unless their
// stacks hash to one slot (then they keep sharing a shard, correctly but
// with contention). The address is
// only hashed, never turned back into a pointer, and a stack that moves
// just changes the slot.
const (
	laneSlotBits = 8
	// laneStackShift drops the offset within a 2 KiB block, the smallest
	// goroutine stack, so calls at nearby depths share a slot.
	laneStackShift = 11
)

var laneOffsets [1 << laneSlotBits]atomic.Uint32

// laneSlot is the calling goroutine's slot: a hash of its stack address.
func laneSlot() uint32 {
	var mark byte
	sp := uint64(uintptr(unsafe.Pointer(&mark)))
	return uint32((sp >> laneStackShift) * 0x9e3779b97f4a7c15 >> (64 - laneSlotBits))
}

// lane is the caller's lane in slot.
func lane(slot uint32) int { return int(slot + laneOffsets[slot].Load()) }

// moveLane moves the goroutines of slot to the next lane, after they met
// another goroutine on their shard.
func moveLane(slot uint32) { laneOffsets[slot].Add(1) }
