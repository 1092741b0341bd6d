//go:build !linux

package monitor

import (
	"net/netip"

	"golang.org/x/net/bpf"
)

// filter is none here: there are no kernel filters.
func (c Config) filter([]uint32, bool) ([]bpf.RawInstruction, error) { return nil, nil }

// admit does nothing here: there are no kernel filters.
func (s *socket) admit([]netip.Prefix, bool) error { return nil }
