package neighbor

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// A datagram to server1 sent while the private cable is out begins a
// resolution of server1's address into the dark link, and the kernel
// asks again only a second later. Once the cable is back, a datagram sent
// after Unstick arrives at once, not when that second is up: failoverd's
// `released` after a primary's return is such a datagram.
func TestUnstickLetsADatagramGoWhenTheLinkIsBack(t *testing.T) {
	p := lab.NewPair(t)
	const port = 7694
	got := make(chan string, 4)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var in net.PacketConn
	must(p.S1.Do(func() (err error) {
		in, err = net.ListenPacket("udp4", net.JoinHostPort(lab.Server1Priv, "7694"))
		return err
	}))
	defer in.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := in.ReadFrom(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	to := netip.AddrPortFrom(netip.MustParseAddr(lab.Server1Priv), port)
	send := func(msg string, unstick bool) {
		t.Helper()
		must(p.S2.Do(func() error {
			if unstick {
				if err := Unstick(to.Addr()); err != nil {
					return err
				}
			}
			c, err := net.Dial("udp4", to.String())
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte(msg))
			return err
		}))
	}
	// The path works, and server2 has a valid entry for server1.
	send("before", false)
	select {
	case m := <-got:
		if m != "before" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("nothing arrived with the cable in")
	}
	// A valid entry stays.
	must(p.S2.Do(func() error { return Unstick(to.Addr()) }))
	if st := entryState(t, p.S2, lab.Server1Priv); st&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE) == 0 {
		t.Fatalf("server2's entry for server1 is %#x after Unstick, want it kept valid", st)
	}
	p.CutPrivate()
	if !lab.WaitFor(2*time.Second, func() bool { return !carrier(t, p.S2, "priv0") }) {
		t.Fatal("server2's private link kept its carrier with the cable out")
	}
	send("dark", false) // into the dark link: the resolution starts here
	p.RestorePrivate()
	if !lab.WaitFor(2*time.Second, func() bool { return carrier(t, p.S2, "priv0") }) {
		t.Fatal("server2's private link has no carrier with the cable back")
	}
	sent := time.Now()
	send("back", true)
	for {
		select {
		case m := <-got:
			if m != "back" {
				continue // the datagram sent into the dark, if it is delivered with it
			}
			if took := time.Since(sent); took > 300*time.Millisecond {
				t.Fatalf("the datagram sent after the cable came back arrived %v later, at the kernel's next request", took.Round(time.Millisecond))
			}
			return
		case <-time.After(3 * time.Second):
			t.Fatal("the datagram sent after the cable came back never arrived")
		}
	}
}

// carrier says whether dev in ns has its carrier (LOWER_UP) and is up.
func carrier(t *testing.T, ns *lab.NS, dev string) bool {
	var up bool
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		up = ifi.Flags&net.FlagRunning != 0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return up
}

// entryState is the state of ns's neighbour entry for ip (0: none).
func entryState(t *testing.T, ns *lab.NS, ip string) int {
	t.Helper()
	var st int
	if err := ns.Do(func() error {
		all, err := netlink.NeighList(0, netlink.FAMILY_V4)
		for _, n := range all {
			if n.IP.String() == ip {
				st = n.State
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return st
}
