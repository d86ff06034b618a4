//go:build !amd64

package prbs

// haveAVX2 is false where there are no vector paths; vecWidth then holds
// for no pattern.
var haveAVX2 = false

// vecFill is fillChunks where there are no vector paths.
func vecFill(body, prev []byte, p *pattern) { fillChunks(body, prev, p) }

// vecCheck is checkChunks where there are no vector paths.
func vecCheck(body, prev []byte, p *pattern) int { return checkChunks(body, prev, p) }

// verify32Fast sends Verify to its general path where there are no vector
// paths.
func verify32Fast(data []byte) bool { return false }

// fill32Fast sends Fill to its general path where there are no vector
// paths.
func fill32Fast(dst []byte, seq uint32) bool { return false }
