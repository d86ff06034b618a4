//go:build !amd64

package prbs

// haveAVX2 is false where there are no vector paths; vecWidth then holds
// for no pattern.
var haveAVX2 = false

// fillVec is fillChunks where there are no vector paths.
func fillVec(body []byte, seed uint32, p *pattern) {
	var w0 [MaxWidth / 8]byte
	w0[0], w0[1], w0[2], w0[3] = byte(seed), byte(seed>>8), byte(seed>>16), byte(seed>>24)
	fillChunks(body, w0[:p.wb], p)
}

// verifyVec is verifyChunks where there are no vector paths.
func verifyVec(body, word0 []byte, p *pattern) error { return verifyChunks(body, word0, p) }
