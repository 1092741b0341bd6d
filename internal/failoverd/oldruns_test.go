package failoverd

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// A second heartbeatd starts beside the primary's (signed heartbeats, the
// real monitor): failoverd hears the newer run from the primary's own
// addresses and drops the older one's heartbeats as replays, as it must,
// since a recording must never be taken for the live run. The older run
// goes on; failoverd says so in one two-runs notice naming both runs,
// not one per packet, and not again when the newer run says goodbye and
// the older alone still sends. Before, it said nothing and went deaf to
// the live primary until heartbeatd was restarted.
func TestARunOfThePrimaryThatGoesOnAfterANewerOneIsNoticedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := wire.NewKey([]byte("a key of thirty-two bytes, fine."), "test")
		if err != nil {
			t.Fatal(err)
		}
		kr := wire.NewKeyring(k)
		in := monitor.NewInbox()
		ifindex := map[string]int{"priv0": 2, "pub0": 3}
		mon := monitor.Fed(monitor.Config{Port: 1694, Links: links, Peers: []netip.Addr{senders["priv0"], senders["pub0"]},
			Keyring: func() *wire.Keyring { return kr },
			Snapshot: func() ([]netif.Interface, error) {
				return []netif.Interface{{Name: "priv0", Index: 2}, {Name: "pub0", Index: 3}}, nil
			}}, slog.New(slog.DiscardHandler), in)
		addr := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}
		ns := &notices{}
		d := New(Config{Node: "server2", Peer: senders["priv0"], Addresses: []takeover.Address{addr}, Keys: func() *wire.Keyring { return kr },
			Machine: failover.Params{Links: links, DeadCount: 3, DefaultInterval: interval, InitialGrace: timeout, HoldDown: holdDown, AutoGiveBack: true}},
			Deps{Source: mon, Mover: &takeover.Mover{Manager: takeover.NewFake()}, Hooks: newHooks(), Notifier: ns, Released: &peer{}, Clock: GoClock{}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()

		seq := map[uint64]uint64{}
		send := func(epoch uint64, typ wire.Type) {
			seq[epoch]++
			p := wire.Packet{Type: typ, Sender: "server1", Epoch: epoch, Seq: seq[epoch], Interval: interval, SentAt: time.Now()}
			b, err := kr.Seal(&p)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range links {
				in.Put(monitor.Datagram{B: b, IfIndex: ifindex[l], From: senders[l]})
			}
		}
		twoRuns := func() []string {
			var out []string
			for _, e := range ns.all() {
				if e.Kind == notice.TwoRuns {
					out = append(out, e.Detail)
				}
			}
			return out
		}
		const older, newer = 0x1111, 0x2222
		for range 10 {
			send(older, wire.Heartbeat)
			time.Sleep(interval)
		}
		synctest.Wait()
		if st := d.State(); st != failover.Standby || len(twoRuns()) != 0 {
			t.Fatalf("one run: state %s, two-runs notices %q", st, twoRuns())
		}
		// The second heartbeatd starts; both send, a few milliseconds
		// apart.
		for range 20 {
			send(newer, wire.Heartbeat)
			time.Sleep(3 * time.Millisecond)
			send(older, wire.Heartbeat)
			time.Sleep(interval - 3*time.Millisecond)
		}
		synctest.Wait()
		n := twoRuns()
		if len(n) != 1 || !strings.Contains(n[0], "run (epoch) 4369, from 192.0.2.1 on priv0, go on after run 8738 replaced it") {
			t.Fatalf("two-runs notices %q, want one naming run 4369 (older) and run 8738", n)
		}
		if st := d.State(); st != failover.Standby {
			t.Fatalf("state %s with the newer run heard", st)
		}
		// The newer one stops; the older goes on, unheard: the guard
		// still drops it, and nothing more is said.
		send(newer, wire.Goodbye)
		for range 30 {
			send(older, wire.Heartbeat)
			time.Sleep(interval)
		}
		synctest.Wait()
		if n := twoRuns(); len(n) != 1 {
			t.Fatalf("two-runs notices %q after the newer run's goodbye, want still the one", n)
		}
		if got := mon.Stats()["priv0"].Dropped[wire.DropReplay]; got < 50 {
			t.Fatalf("the older run's heartbeats were accepted: %d dropped as replays on priv0, want its 50", got)
		}
	})
}
