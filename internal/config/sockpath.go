package config

import (
	"fmt"
	"syscall"
)

// maxSocketPath is the longest path a unix socket can be bound to on this
// system: the socket address's path field less its terminating NUL (107
// bytes on Linux, 103 on macOS).
const maxSocketPath = len(syscall.RawSockaddrUnix{}.Path) - 1

// socketPathFits checks a socket's path against that limit, which would
// otherwise only show when the daemon starts; example is a path that fits.
func socketPathFits(v, example string) *valueError {
	if len(v) > maxSocketPath {
		return &valueError{fmt.Sprintf("%d bytes long; a unix socket path may have at most %d bytes here", len(v), maxSocketPath),
			"choose a shorter path, such as " + example}
	}
	return nil
}
