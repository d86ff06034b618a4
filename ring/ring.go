package ring

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"reflect"
	"unsafe"
)

// ErrClosed is returned by the blocking operations once Close has been called
// and, for PopWait, the ring has been drained.
var ErrClosed = errors.New("ring: closed")

// ErrInvalidCapacity is wrapped by the constructors when the requested
// capacity cannot be used, so callers can test for it with errors.Is.
var ErrInvalidCapacity = errors.New("ring: invalid capacity")

// errShortDst is returned by PopWait when dst cannot hold a single item:
// blocking "until at least one item" would otherwise be impossible to honour.
var errShortDst = fmt.Errorf("ring: PopWait needs len(dst) >= 1: %w", io.ErrShortBuffer)

// cacheLine is the distance kept between data written by different sides.
//
// 128 rather than 64: Intel cores prefetch the adjacent 64-byte line of a
// pair (spatial prefetcher), so two indices 64 bytes apart still bounce
// together; several arm64 and ppc64 parts have 128-byte lines outright.
// The cost is a few hundred bytes per ring.
const cacheLine = 128

// pad separates groups of fields written by different goroutines. The
// runtime does not align heap objects to cacheLine, so every pad is a whole
// line: two fields with at least cacheLine bytes between them can never fall
// in the same (pair of) line(s), whatever the object's start address.
type pad [cacheLine]byte

const (
	// maxCapacity bounds the slot count so index arithmetic and allocation
	// stay far from overflow on every platform.
	maxCapacity = 1 << 30
	// maxBytes bounds the slot array so an absurd capacity for a large T is
	// reported as an error rather than a runtime allocation failure.
	maxBytes = 1 << 40
)

// checkCapacity validates a requested capacity for slots of elemSize bytes.
func checkCapacity(capacity int, elemSize uintptr) error {
	switch {
	case capacity < 2:
		return fmt.Errorf("%w: %d is below the minimum of 2", ErrInvalidCapacity, capacity)
	case capacity > maxCapacity:
		return fmt.Errorf("%w: %d exceeds the maximum of %d", ErrInvalidCapacity, capacity, maxCapacity)
	case bits.OnesCount(uint(capacity)) != 1:
		return fmt.Errorf("%w: %d is not a power of two (nearest: %d or %d)",
			ErrInvalidCapacity, capacity, 1<<(bits.Len(uint(capacity))-1), 1<<bits.Len(uint(capacity)))
	case elemSize > 0 && uint64(capacity) > maxBytes/uint64(elemSize):
		return fmt.Errorf("%w: %d slots of %d bytes exceed %d bytes", ErrInvalidCapacity, capacity, elemSize, uint64(maxBytes))
	}
	return nil
}

// sizeOf reports the size of one T without needing a value.
func sizeOf[T any]() uintptr {
	var z T
	return unsafe.Sizeof(z)
}

// hasPointers reports whether a T can hold a pointer the garbage collector
// follows. Slots of pointer-free types need not be zeroed when popped, which
// spares the consumer a write to the cache line the producer fills next.
func hasPointers[T any]() bool { return typeHasPointers(reflect.TypeFor[T]()) }

func typeHasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && typeHasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if typeHasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true // pointers, strings, slices, maps, channels, funcs, interfaces
}
