package engine

import "errors"

var (
	// ErrReleased is returned by every operation on a frame whose last
	// reference has been released. It replaces the memory corruption that a
	// use-after-free of a pooled buffer would otherwise cause.
	ErrReleased = errors.New("engine: frame already released")

	// ErrFrameSize is returned when a payload, offset or request does not fit
	// the frame's or pool's size.
	ErrFrameSize = errors.New("engine: size out of range")

	// ErrNotContiguous is returned by Frame.Bytes and Frame.Memory for a
	// frame that spans more than one buffer.
	ErrNotContiguous = errors.New("engine: frame spans several buffers")

	// ErrPoolExhausted is returned when a pool would exceed its allocation
	// limit.
	ErrPoolExhausted = errors.New("engine: pool allocation limit reached")

	// ErrClosed is returned by operations on a closed master, server or
	// client.
	ErrClosed = errors.New("engine: closed")
)
