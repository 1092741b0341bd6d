//go:build !linux

package neighbor

import (
	"errors"
	"fmt"
	"runtime"
)

// NewAnnouncer reports that this system has no announcer of ours. On
// macOS the kernel itself sends one gratuitous ARP when an alias is added
// (see the README); repeats are not sent.
func NewAnnouncer() (Announcer, error) {
	return nil, fmt.Errorf("announcing addresses on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
