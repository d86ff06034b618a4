package engine

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShardMovesOffALockedShard: a goroutine whose shard another holds
// takes the next free shard and keeps its new lane afterwards.
func TestShardMovesOffALockedShard(t *testing.T) {
	c := newTestCache(t, 64, 4)
	slot := laneSlot()
	held := &c.shards[lane(slot)%len(c.shards)]
	held.acquire()
	s := c.shard()
	if s == held {
		t.Fatal("shard returned a shard another goroutine holds")
	}
	s.release()
	held.release()
	if got := &c.shards[lane(slot)%len(c.shards)]; got != s {
		t.Fatal("the lane did not stay on the shard it moved to")
	}
}

// TestNoLinkname: the module pulls no runtime internals, which a future Go
// may refuse to link.
func TestNoLinkname(t *testing.T) {
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "out" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "//go:"+"linkname") {
			t.Errorf("%s uses go:linkname", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
