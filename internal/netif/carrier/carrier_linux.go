package carrier

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Watch calls report with the carrier of each named interface (up:
// administratively up with its lower layer up), at once and at every
// change, until ctx ends or the netlink subscription fails. An interface
// that goes away counts as down.
func Watch(ctx context.Context, names []string, report func(name string, up bool)) error {
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	failed := make(chan error, 1)
	err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		ListExisting: true,
		ErrorCallback: func(err error) {
			select {
			case failed <- err:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watch the links' carrier: %w", err)
	}
	last := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return fmt.Errorf("watch the links' carrier: %w", err)
		case u, ok := <-updates:
			if !ok {
				return errors.New("watch the links' carrier: the netlink subscription ended")
			}
			name := u.Attrs().Name
			if !slices.Contains(names, name) {
				continue
			}
			up := u.Header.Type != unix.RTM_DELLINK && u.Attrs().RawFlags&unix.IFF_UP != 0 && u.Attrs().RawFlags&unix.IFF_LOWER_UP != 0
			if was, seen := last[name]; seen && was == up {
				continue
			}
			last[name] = up
			report(name, up)
		}
	}
}
