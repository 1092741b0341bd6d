package instance

import "golang.org/x/sys/unix"

// sockPeerPID asks the kernel for the peer's pid (SO_PEERCRED).
func sockPeerPID(fd int) (int, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return int(cred.Pid), nil
}
