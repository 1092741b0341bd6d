package failoverd

import (
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Each accepted heartbeat hands the machine the MAC its packet says it
// left by (signed when a key is set), and none when it says none: an
// older heartbeatd, or a primary behind a router.
func TestHeartbeatCarriesTheSignedMAC(t *testing.T) {
	key, err := wire.NewKey([]byte("a key of thirty-two bytes, fine."), "test")
	if err != nil {
		t.Fatal(err)
	}
	keys := wire.NewKeyring(key)
	at := time.Unix(1_800_000_000, 0)
	heardFrom := func(link string, hw net.HardwareAddr, typ wire.Type) monitor.Heard {
		t.Helper()
		b, err := keys.Seal(&wire.Packet{Type: typ, Sender: "server1", Epoch: 1, Seq: 1, Interval: interval, SentAt: at,
			Message: "heartbeat", HardwareAddr: hw})
		if err != nil {
			t.Fatal(err)
		}
		p, err := keys.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		return monitor.Heard{Link: link, From: senders[link], At: at, Packet: p}
	}
	priv := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}
	ib := make(net.HardwareAddr, 20) // InfiniBand
	ib[19] = 7
	for _, c := range []struct {
		h    monitor.Heard
		want failover.Heartbeat
	}{
		{heardFrom("priv0", priv, wire.Heartbeat),
			failover.Heartbeat{At: at, Link: "priv0", Interval: interval, Detail: "heartbeat", MAC: "00:00:5e:00:53:01"}},
		{heardFrom("pub0", ib, wire.Goodbye),
			failover.Heartbeat{At: at, Link: "pub0", Interval: interval, Goodbye: true, Detail: "heartbeat", MAC: ib.String()}},
		{heardFrom("pub0", nil, wire.Heartbeat),
			failover.Heartbeat{At: at, Link: "pub0", Interval: interval, Detail: "heartbeat"}},
		{monitor.Heard{Link: "priv0", From: netip.MustParseAddr("192.0.2.1"), At: at, Legacy: true,
			Packet: wire.Packet{Type: wire.Heartbeat, Sender: "192.0.2.1", Message: "heartbeat"}},
			failover.Heartbeat{At: at, Link: "priv0", Detail: "heartbeat"}},
	} {
		if got := heartbeatOf(c.h); got != c.want {
			t.Errorf("heard %+v\nmachine got  %+v\nwant %+v", c.h, got, c.want)
		}
	}
}

// The MAC goes from each link's heartbeats through the daemon to the
// machine, and status shows it per link (failoverctl status --json).
func TestStatusShowsThePrimarysSignedMACPerLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		pubHW := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x53, 0x02}
		w.beat("priv0") // signs primaryMAC
		w.src.in <- []monitor.Heard{{Link: "pub0", From: senders["pub0"], At: time.Now(),
			Packet: wire.Packet{Type: wire.Heartbeat, Interval: interval, HardwareAddr: pubHW}}}
		synctest.Wait()
		got := map[string]string{}
		for _, l := range w.d.Status().Links {
			got[l.Name] = l.MAC
		}
		if got["priv0"] != primaryMAC || got["pub0"] != pubHW.String() {
			t.Fatalf("status MACs %v, want priv0 %s and pub0 %s", got, primaryMAC, pubHW)
		}
		w.stop()
	})
}
