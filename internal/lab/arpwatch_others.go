//go:build !linux

package lab

import (
	"testing"
	"time"
)

// StartARPWatch skips t: the watch needs Linux's AF_PACKET sockets.
func StartARPWatch(t testing.TB, ns *NS, dev, target string, every time.Duration) *ARPWatch {
	t.Helper()
	t.Skip("skipped: the ARP watch needs Linux (AF_PACKET sockets)")
	return nil
}
