//go:build !linux

package takeover

import (
	"errors"
	"fmt"
	"runtime"
)

// NewAnnouncer reports that this system has no gratuitous ARP sender yet.
func NewAnnouncer() (Announcer, error) {
	return nil, fmt.Errorf("gratuitous ARP on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
