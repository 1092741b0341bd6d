package instance

import "golang.org/x/sys/unix"

// sockPeerPID asks the kernel for the peer's pid (LOCAL_PEERPID).
func sockPeerPID(fd int) (int, error) {
	return unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
}
