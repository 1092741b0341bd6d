package standby

import (
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// broadcastFrom sends server3's announcement (priority) from s1 to dst
// with a socket of no link's: a broadcast address reaches every socket of
// s2's on the port that matches the interface it arrives on.
func (f *floodLab) broadcastFrom(t *testing.T, priority int, dst string) {
	t.Helper()
	b, err := f.other.Sealed(self(priority), time.Second, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1) })
	}}
	if err := f.s1.Do(func() error {
		c, err := d.Dial("udp4", dst)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write(b)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// remakePriv0 deletes priv0 (both ends) and makes it again under the same
// names with new interface indexes, as a bond or VLAN recreated, or a
// restart of the network configuration, would.
func (f *floodLab) remakePriv0(t *testing.T) {
	t.Helper()
	f.s2.MustRun("ip", "link", "del", "priv0")
	f.s1.MustRun("ip", "link", "add", "priv0", "index", "1900", "type", "veth", "peer", "name", "priv0", "index", "1901", "netns", f.s2.Name)
	f.s1.MustRun("ip", "link", "set", "priv0", "up")
	f.s2.MustRun("ip", "link", "set", "priv0", "up")
	f.s1.Addr("priv0", "192.0.2.1/24")
	f.s2.Addr("priv0", "192.0.2.2/24")
}

// A link's interface deleted and made again under its name must carry
// announcements again, both ways, without a restart. A socket bound to
// the old interface heard nothing on the new one and could send nothing
// on it (ENODEV): the standbys on that link went unheard for good, and
// with both links made again two standbys, each hearing none of the
// others, could both take the addresses. While a link's interface is
// missing, the socket for the other interfaces shares the port; it must
// go on leaving the made-again link's packets to that link's socket, so
// that each is heard once, not also dropped as a replay.
func TestALinkMadeAgainCarriesAnnouncements(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
	}{{"every link there", nil}, {"a link missing", []string{"nosuch0"}}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFloodLab(t, tc.extra...)
			f.run(t)
			if !lab.WaitFor(3*time.Second, func() bool { f.broadcastFrom(t, 220, "192.0.2.255:1695"); return f.count(220, "priv0") > 0 }) {
				t.Fatalf("before priv0 was made again: nothing heard on it; stats %+v", f.me.Stats())
			}
			f.remakePriv0(t)
			if !lab.WaitFor(5*time.Second, func() bool {
				f.broadcastFrom(t, 221, "192.0.2.255:1695")
				return f.count(221, "priv0") > 0
			}) {
				t.Fatalf("after priv0 was made again: nothing heard on it; stats %+v", f.me.Stats())
			}
			var sent int
			err := f.s2.Do(func() (err error) { sent, err = f.me.Announce(self(222), time.Second, time.Now()); return err })
			if err != nil || sent != 2 {
				t.Errorf("Announce after priv0 was made again: sent to %d broadcast addresses, %v; want 2", sent, err)
			}
			// What was sent before (the broadcasts of the wait above, this
			// host's own announcement coming back) has arrived, on a busy
			// machine too, before the count starts.
			var before Stats
			lab.WaitFor(3*time.Second, func() bool {
				before = f.me.Stats()
				return lab.Stays(200*time.Millisecond, func() bool { return f.me.Stats().Received == before.Received })
			})
			dropped := func(st Stats) (n uint64) {
				for _, d := range st.Dropped {
					n += d
				}
				return n
			}
			const n = 3
			for range n {
				f.broadcastFrom(t, 223, "192.0.2.255:1695")
			}
			if !lab.WaitFor(2*time.Second, func() bool { return f.count(223, "priv0") == n }) {
				t.Fatalf("heard %d of %d announcements on priv0; stats %+v", f.count(223, "priv0"), n, f.me.Stats())
			}
			if !lab.Stays(300*time.Millisecond, func() bool {
				st := f.me.Stats()
				return st.Received == before.Received+n && dropped(st) == dropped(before)
			}) {
				t.Errorf("an announcement came twice or was dropped: stats %+v, before them %+v", f.me.Stats(), before)
			}
		})
	}
}
