//go:build !linux

package carrier

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Watch reports that this system has no carrier watch of ours.
func Watch(ctx context.Context, names []string, report func(name string, up bool)) error {
	return fmt.Errorf("watching the links' carrier on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
