//go:build !linux

package lab

import (
	"fmt"
	"os"
)

// SendFrame fails: sending a frame as it is needs Linux's AF_PACKET
// sockets.
func SendFrame(ns *NS, dev string, frame []byte) error {
	return fmt.Errorf("frame from %s on %s: needs Linux's AF_PACKET sockets: %w", ns.Name, dev, os.ErrNotExist)
}
