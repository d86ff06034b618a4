//go:build !linux

package vethpair

// Check reports that network namespaces are unavailable.
func Check() error { return ErrUnsupported }

// New is unavailable outside Linux.
func New(cfg Config) (*Pair, error) { return nil, ErrUnsupported }

// NamespaceExists is always false outside Linux.
func NamespaceExists(name string) bool { return false }

// Close does nothing outside Linux.
func (p *Pair) Close() error { return nil }

// SetMTU is unavailable outside Linux.
func (p *Pair) SetMTU(mtu int) error { return ErrUnsupported }

// StaticARP is unavailable outside Linux.
func (p *Pair) StaticARP() error { return ErrUnsupported }

// Do is unavailable outside Linux.
func (s *Side) Do(fn func() error) error { return ErrUnsupported }

// SetOffload is unavailable outside Linux.
func (s *Side) SetOffload(o Offload, on bool) error { return ErrUnsupported }

// XDPProgID is unavailable outside Linux.
func (s *Side) XDPProgID() (uint32, error) { return 0, ErrUnsupported }

// Describe says that namespaces are unavailable.
func (s *Side) Describe() string { return ErrUnsupported.Error() }
