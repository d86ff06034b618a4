package memory

import (
	"errors"
	"fmt"
)

// Sentinels that transaction errors match through errors.Is.
var (
	// ErrTimeout: no completion within the transaction's timeout.
	ErrTimeout = errors.New("memory: transaction timed out")
	// ErrClosed: the master (or the slave) was closed with the
	// transaction pending, or a transaction was started after Close.
	ErrClosed = errors.New("memory: closed")
	// ErrReleased: the transaction was released before it completed.
	ErrReleased = errors.New("memory: transaction released while pending")
	// ErrUnconnected: the master has no slave.
	ErrUnconnected = errors.New("memory: unconnected memory bus")
	// ErrUnaligned: the address is not a multiple of the minimum access.
	ErrUnaligned = errors.New("memory: unaligned address")
	// ErrSize: the size is not a multiple of the minimum access, or
	// exceeds the maximum access.
	ErrSize = errors.New("memory: bad transaction size")
	// ErrRange: the access lies outside the slave's memory.
	ErrRange = errors.New("memory: address out of range")
	// ErrVerify: data read back differs from what was expected.
	ErrVerify = errors.New("memory: verify mismatch")
	// ErrBusy: Start on a transaction that is already in flight.
	ErrBusy = errors.New("memory: transaction already started")
	// ErrNotStarted: Wait on a transaction that was never started.
	ErrNotStarted = errors.New("memory: transaction not started")
)

// TxError is the error of one transaction: Rogue's text in Msg, the class
// in Err (a sentinel of this package or of the slave's package).
type TxError struct {
	ID  uint32
	Msg string
	Err error
}

func (e *TxError) Error() string { return e.Msg }
func (e *TxError) Unwrap() error { return e.Err }

// Errorf builds a TxError of class err for transaction id.
func Errorf(id uint32, err error, format string, args ...any) *TxError {
	return &TxError{ID: id, Msg: fmt.Sprintf(format, args...), Err: err}
}

// CheckAccess returns Rogue's error for an access that a slave of the
// given minimum and maximum access size refuses, or nil.
func CheckAccess(tx *Transaction, minAccess, maxAccess uint32) error {
	size := uint64(len(tx.Data))
	if minAccess > 1 && tx.Address%uint64(minAccess) != 0 {
		return Errorf(tx.id, ErrUnaligned, "Transaction address 0x%x is not aligned to min size %d", tx.Address, minAccess)
	}
	if size == 0 || (minAccess > 1 && size%uint64(minAccess) != 0) {
		return Errorf(tx.id, ErrSize, "Transaction size 0x%x is not aligned to min size %d", size, minAccess)
	}
	if maxAccess != 0 && size > uint64(maxAccess) {
		return Errorf(tx.id, ErrSize, "Transaction size %d exceeds max size %d", size, maxAccess)
	}
	return nil
}
