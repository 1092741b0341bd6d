//go:build !linux

package neighbor

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
)

// NewAsker reports that this system has no asker of ours: on macOS raw
// ARP needs BPF devices.
func NewAsker(addrs []netip.Addr, lookup func(name string) (*net.Interface, error)) (Asker, error) {
	return nil, fmt.Errorf("asking who answers for an address on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
