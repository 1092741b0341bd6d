package monitor

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// What an earlier run's guard remembered (Config.Replay) is refused
// again; a new epoch is signalled at once, for the state file, and the
// memory read back says it.
func TestReplayMemoryAcrossRestart(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m := newMonitor(Config{
		Port: 1694, Links: []string{"priv0", "pub0"}, Peers: []netip.Addr{primaryPriv, primaryPub},
		Keyring: func() *wire.Keyring { return kr },
		Replay:  []wire.SenderRecord{{Sender: "server1", Epoch: 2, Top: 40, LastSent: now, Retired: []uint64{1}}},
		Snapshot: func() ([]netif.Interface, error) {
			return []netif.Interface{{Name: "priv0", Index: 2}, {Name: "pub0", Index: 3}}, nil
		},
	}, slog.New(slog.DiscardHandler))

	if _, ok := m.accept(packet(t, kr, 1, 50, now), 3, primaryPub, now); ok {
		t.Fatal("the retired epoch was accepted after the restart")
	}
	if _, ok := m.accept(packet(t, kr, 2, 40, now), 3, primaryPub, now); ok {
		t.Fatal("a sequence number accepted before the restart was accepted again")
	}
	if _, ok := m.accept(packet(t, kr, 2, 41, now.Add(time.Second)), 2, primaryPriv, now.Add(time.Second)); !ok {
		t.Fatal("the live epoch's next packet was dropped")
	}
	select {
	case <-m.EpochChanged():
		t.Fatal("epoch changed signalled without a new epoch")
	default:
	}
	if _, ok := m.accept(packet(t, kr, 3, 1, now.Add(2*time.Second)), 2, primaryPriv, now.Add(2*time.Second)); !ok {
		t.Fatal("a restarted sender's epoch was dropped")
	}
	select {
	case <-m.EpochChanged():
	default:
		t.Fatal("a new epoch was not signalled")
	}
	recs, adopted, accepted := m.ReplayMemory()
	if adopted != 1 || accepted != 2 || len(recs) != 1 || recs[0].Epoch != 3 || len(recs[0].Retired) != 2 {
		t.Fatalf("memory %+v, %d epochs adopted, %d packets accepted", recs, adopted, accepted)
	}
	st := m.Stats()
	if st["pub0"].Dropped[wire.DropReplay] != 2 {
		t.Fatalf("drops on pub0: %v", st["pub0"].Dropped)
	}
}
