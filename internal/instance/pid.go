//go:build linux || darwin

package instance

import "net"

// peerPID is the process that listens on c's far end (as it was when
// it called listen), or 0: the system's own answer, sockPeerPID.
func peerPID(c *net.UnixConn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	_ = raw.Control(func(fd uintptr) {
		if p, err := sockPeerPID(int(fd)); err == nil {
			pid = p
		}
	})
	return pid
}
