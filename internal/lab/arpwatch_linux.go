package lab

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// StartARPWatch asks, from dev in ns, every every, who has target (an
// IPv4 address), and keeps every answer until Stop (at the latest when
// the test ends).
//
// It asks as a host of its own: random locally administered MACs (256 of
// them, one for each round in turn), which the switch learns on ns's
// port, and no IPv4 address (an RFC 5227 probe). Answers go to those
// MACs, so ns's kernel drops them unread: a reply to ns's own MAC would
// move ns's neighbour entry for target to whoever answered, without any
// announcement, and hide the very moves a test measures. Nor does any
// answering host learn a neighbour from it.
func StartARPWatch(t testing.TB, ns *NS, dev, target string, every time.Duration) *ARPWatch {
	t.Helper()
	tgt, err := netip.ParseAddr(target)
	if err != nil || !tgt.Is4() {
		t.Fatalf("ARP watch: %q is not an IPv4 address", target)
	}
	mac := make(net.HardwareAddr, 6)
	_, _ = rand.Read(mac)
	mac[0] = mac[0]&^1 | 2 // unicast, locally administered
	var (
		ifi *net.Interface
		f   *os.File
	)
	err = ns.Do(func() error {
		if ifi, err = net.InterfaceByName(dev); err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return fmt.Errorf("ARP socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind ARP socket to %s: %w", dev, err)
		}
		// Through os.File, the runtime's poller waits for answers, and
		// Close wakes the reader.
		f = os.NewFile(uintptr(fd), "arp-watch")
		return nil
	})
	if err != nil {
		t.Fatalf("ARP watch in %s on %s: %v", ns.Name, dev, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	w := &ARPWatch{stop: make(chan struct{}), done: make(chan struct{}), close: func() { f.Close() }}
	go func() {
		defer close(w.done)
		buf := make([]byte, 128)
		for {
			var (
				n    int
				rerr error
			)
			err := rc.Read(func(fd uintptr) bool {
				n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
				return rerr != unix.EAGAIN
			})
			if err != nil {
				return // closed
			}
			if from, round, ok := arpAnswer(buf[:n], mac, tgt); rerr == nil && ok {
				w.answer(round, from)
			}
		}
	}()
	to := &unix.SockaddrLinklayer{Ifindex: ifi.Index}
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		from := slices.Clone(mac) // the receiver reads mac
		for {
			from[5] = w.request(time.Now())
			probe := arpProbe(from, tgt)
			// A failed send leaves its round unanswered, as a lost
			// request would.
			_ = rc.Write(func(fd uintptr) bool {
				return unix.Sendto(int(fd), probe, 0, to) != unix.EAGAIN
			})
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(w.Stop)
	return w
}
