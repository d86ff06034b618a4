//go:build !linux

package mmsg

import (
	"net"
	"time"
)

// Conn moves batches of UDP datagrams; on this platform every operation
// returns ErrUnsupported.
type Conn struct{}

// NewConn returns ErrUnsupported: recvmmsg and sendmmsg are Linux-only.
func NewConn(c *net.UDPConn, batch int) (*Conn, error) { return nil, ErrUnsupported }

// Close returns ErrUnsupported.
func (c *Conn) Close() error { return ErrUnsupported }

// ReadBatch returns ErrUnsupported.
func (c *Conn) ReadBatch(msgs []Message) (int, error) { return 0, ErrUnsupported }

// WriteBatch returns ErrUnsupported.
func (c *Conn) WriteBatch(msgs []Message) (int, error) { return 0, ErrUnsupported }

// WriteOne returns ErrUnsupported.
func (c *Conn) WriteOne(m *Message) error { return ErrUnsupported }

// TryWriteBatch returns ErrUnsupported.
func (c *Conn) TryWriteBatch(msgs []Message) (int, error) { return 0, ErrUnsupported }

// TryWriteOne returns ErrUnsupported.
func (c *Conn) TryWriteOne(m *Message) error { return ErrUnsupported }

// EnableGRO returns ErrUnsupported.
func (c *Conn) EnableGRO() error { return ErrUnsupported }

// GROEnabled returns false.
func (c *Conn) GROEnabled() bool { return false }

// KernelDrops returns 0.
func (c *Conn) KernelDrops() uint64 { return 0 }

// MemInfo returns zeros.
func (c *Conn) MemInfo() (drops uint64, rcvbuf int) { return 0, 0 }

// DisableGSO does nothing on this platform.
func (c *Conn) DisableGSO() {}

// GSOEnabled returns false.
func (c *Conn) GSOEnabled() bool { return false }

// SetReadBuffer returns ErrUnsupported.
func (c *Conn) SetReadBuffer(bytes int) (int, error) { return 0, ErrUnsupported }

// SetWriteBuffer returns ErrUnsupported.
func (c *Conn) SetWriteBuffer(bytes int) (int, error) { return 0, ErrUnsupported }

// SetBlockingReads returns ErrUnsupported.
func (c *Conn) SetBlockingReads(wake time.Duration) error { return ErrUnsupported }

// ReadBatchBlocking returns ErrUnsupported.
func (c *Conn) ReadBatchBlocking(msgs []Message) (int, error) { return 0, ErrUnsupported }

// SetReadSpin returns ErrUnsupported.
func (c *Conn) SetReadSpin(d time.Duration) error { return ErrUnsupported }
