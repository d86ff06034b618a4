package ring

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestInvalidCapacity(t *testing.T) {
	cases := []struct {
		capacity int
		want     string
	}{
		{-8, "below the minimum"},
		{0, "below the minimum"},
		{1, "below the minimum"},
		{3, "not a power of two (nearest: 2 or 4)"},
		{6, "not a power of two"},
		{1000, "not a power of two (nearest: 512 or 1024)"},
		{1<<30 + 1, "exceeds the maximum"},
		{math.MaxInt, "exceeds the maximum"},
	}
	for _, c := range cases {
		if _, err := NewSPSC[int](c.capacity); !errors.Is(err, ErrInvalidCapacity) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSPSC(%d) = %v, want ErrInvalidCapacity mentioning %q", c.capacity, err, c.want)
		}
		if _, err := NewMPMC[int](c.capacity); !errors.Is(err, ErrInvalidCapacity) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewMPMC(%d) = %v, want ErrInvalidCapacity mentioning %q", c.capacity, err, c.want)
		}
	}
}

func TestCapacityTooManyBytes(t *testing.T) {
	type big [1 << 20]byte
	// 2^30 slots of 1 MiB each would be 1 PiB: refused up front.
	if _, err := NewSPSC[big](1 << 30); !errors.Is(err, ErrInvalidCapacity) || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("NewSPSC[1MiB](2^30) = %v, want a size error", err)
	}
	if _, err := NewMPMC[big](1 << 30); !errors.Is(err, ErrInvalidCapacity) || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("NewMPMC[1MiB](2^30) = %v, want a size error", err)
	}
}

func TestValidCapacity(t *testing.T) {
	for _, c := range []int{2, 4, 64, 1024, 1 << 16} {
		s, err := NewSPSC[string](c)
		if err != nil || s.Cap() != c || s.Len() != 0 {
			t.Errorf("NewSPSC(%d): err=%v", c, err)
		}
		m, err := NewMPMC[string](c)
		if err != nil || m.Cap() != c || m.Len() != 0 {
			t.Errorf("NewMPMC(%d): err=%v", c, err)
		}
	}
	// Zero-size items are legal: the ring then only counts.
	if _, err := NewSPSC[struct{}](8); err != nil {
		t.Errorf("NewSPSC[struct{}]: %v", err)
	}
}
