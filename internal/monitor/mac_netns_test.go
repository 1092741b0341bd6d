package monitor

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/netif"
)

// heartbeatd's sender in s1, the monitor in s2: each link's heartbeat is
// heard saying, signed, the MAC of s1's interface on that link, the only
// way failoverd learns the primary's MAC.
func TestHeartbeatsSayTheirLinksMAC(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	s1, m := twoServers(t, kr)
	heard := runMonitor(t, m, 100)
	var conn heartbeat.Conn
	if err := s1.Do(func() (err error) { conn, err = heartbeat.ListenUDP(); return err }); err != nil {
		t.Fatal(err)
	}
	snapshot := func() (ifs []netif.Interface, err error) {
		err = s1.Do(func() (err error) { ifs, err = netif.Snapshot(); return err })
		return ifs, err
	}
	s, err := heartbeat.New(heartbeat.Options{
		Targets: []netip.Addr{netip.MustParseAddr("192.0.2.255"), netip.MustParseAddr("198.51.100.255")},
		Port:    1694, Interval: 50 * time.Millisecond, Message: "heartbeat", Node: "server1", Keyring: kr,
	}, conn, snapshot, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, nil, 0) }()
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Close()
	})
	want := map[string]string{"priv0": lab.MAC(t, s1, "priv0"), "pub0": lab.MAC(t, s1, "pub0")}
	if want["priv0"] == want["pub0"] || want["priv0"] == "" {
		t.Fatalf("the lab's MACs %v cannot tell the links apart", want)
	}
	n := map[string]int{} // heartbeats heard, by link
	for deadline := time.After(2 * time.Second); n["priv0"] < 2 || n["pub0"] < 2; {
		select {
		case h := <-heard:
			if mac := h.Packet.HardwareAddr.String(); mac != want[h.Link] || !h.Packet.Authenticated {
				t.Fatalf("heartbeat %d on %s says MAC %q (signed: %v), want %s", h.Packet.Seq, h.Link, mac, h.Packet.Authenticated, want[h.Link])
			}
			n[h.Link]++
		case <-deadline:
			t.Fatalf("heard %v heartbeats by link in 2 s", n)
		}
	}
}
