package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// allocCounter counts the buffers a pool has out, and their bytes, in one
// shard per P, picked by the caller's lane (lane.go), so that taking and returning buffers on different cores does
// not contend for one cache line. A buffer is counted back in on the shard
// that counted it out (Buffer.Counter), so no shard ever shows a return
// without its allocation: a sum of the shards read one by one never
// undercounts what is really out, which is what the limit and retirement
// checks need. The sum is exact while nobody allocates or releases.
type allocCounter struct {
	once   sync.Once
	shards []allocShard
}

type allocShard struct {
	_     [cacheLine]byte
	count atomic.Int64
	bytes atomic.Int64
	_     [cacheLine]byte
}

func (c *allocCounter) all() []allocShard {
	c.once.Do(func() { c.shards = make([]allocShard, runtime.GOMAXPROCS(0)) })
	return c.shards
}

// add counts one buffer out on the caller's shard and returns the shard.
func (c *allocCounter) add() int {
	shards := c.all()
	i := lane(laneSlot()) % len(shards)
	shards[i].count.Add(1)
	return i
}

// count is the buffers out: the sum of the shards.
func (c *allocCounter) count() int64 {
	var n int64
	for i := range c.all() {
		n += c.shards[i].count.Load()
	}
	return n
}

// bytes is the memory of the buffers out.
func (c *allocCounter) bytes() int64 {
	var n int64
	for i := range c.all() {
		n += c.shards[i].bytes.Load()
	}
	return n
}
