package lab

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// SendFrame sends frame, a whole Ethernet frame, out of dev in ns, as
// it is: from whatever source it names.
func SendFrame(ns *NS, dev string, frame []byte) error {
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		// Protocol 0: the socket sends only, and queues nothing it hears.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		defer unix.Close(fd)
		if err := unix.Sendto(fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("frame from %s on %s: %w", ns.Name, dev, err)
	}
	return nil
}
