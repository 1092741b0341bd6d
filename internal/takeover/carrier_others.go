//go:build !linux

package takeover

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// WatchCarrier reports that this system has no carrier watch of ours.
func WatchCarrier(ctx context.Context, names []string, report func(name string, up bool)) error {
	return fmt.Errorf("watching the links' carrier on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
