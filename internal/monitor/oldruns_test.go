package monitor

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// Run 1 of the primary, then run 2 beside it (a second heartbeatd): run 2
// replaces run 1, whose heartbeats are dropped as replays, as they must
// be. A packet of run 1 sent before run 2's latest (one overtaken on the
// way at a restart) says nothing; the first sent after it is told of,
// once, naming both runs, however many follow on either link,.
func TestARunThatGoesOnAfterANewerOneReplacedItIsToldOfOnce(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	at := func(ms int) time.Time { return now.Add(time.Duration(ms) * time.Millisecond) }
	for i := range 3 {
		if _, ok := m.accept(packet(t, kr, 1, uint64(i+1), at(100*i)), 2, primaryPriv, at(100*i)); !ok {
			t.Fatalf("run 1's heartbeat %d dropped", i+1)
		}
	}
	if _, ok := m.accept(packet(t, kr, 2, 1, at(300)), 2, primaryPriv, at(300)); !ok {
		t.Fatal("run 2's first heartbeat dropped")
	}
	told := func() []OldRun {
		var out []OldRun
		for {
			select {
			case o := <-m.OldRuns():
				out = append(out, o)
			default:
				return out
			}
		}
	}
	if _, ok := m.accept(packet(t, kr, 1, 4, at(290)), 2, primaryPriv, at(305)); ok {
		t.Fatal("run 1's heartbeat accepted after run 2 replaced it")
	}
	if o := told(); len(o) != 0 {
		t.Fatalf("a packet of run 1 sent before run 2's latest told of: %+v", o)
	}
	seq := uint64(5)
	for i := range 10 {
		sent := at(310 + 100*i)
		if _, ok := m.accept(packet(t, kr, 2, uint64(i+2), sent.Add(-5*time.Millisecond)), 3, primaryPub, sent); !ok {
			t.Fatalf("run 2's heartbeat %d dropped", i+2)
		}
		for _, l := range []struct {
			ifindex int
			from    netip.Addr
		}{{2, primaryPriv}, {3, primaryPub}} {
			if _, ok := m.accept(packet(t, kr, 1, seq, sent), l.ifindex, l.from, sent); ok {
				t.Fatal("run 1's heartbeat accepted after run 2 replaced it")
			}
		}
		seq++
	}
	o := told()
	if len(o) != 1 || o[0].Epoch != 1 || o[0].Current != 2 || o[0].Sender != "server1" || o[0].Link != "priv0" || o[0].From != primaryPriv {
		t.Fatalf("told %+v, want run 1 once, replaced by run 2, first on priv0", o)
	}
	if st := m.Stats(); st["priv0"].Dropped[wire.DropReplay] != 11 || st["pub0"].Dropped[wire.DropReplay] != 10 {
		t.Fatalf("drops: priv0 %v, pub0 %v", st["priv0"].Dropped, st["pub0"].Dropped)
	}
}

// A packet of the run that is current, dropped by the replay guard (a
// sequence number it has seen, sent after the run's latest), is no
// sign of a second run: nothing is told of.
func TestADroppedPacketOfTheCurrentRunIsNoOldRun(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	at := func(ms int) time.Time { return now.Add(time.Duration(ms) * time.Millisecond) }
	for i := range 3 {
		if _, ok := m.accept(packet(t, kr, 2, uint64(i+1), at(100*i)), 2, primaryPriv, at(100*i)); !ok {
			t.Fatalf("heartbeat %d dropped", i+1)
		}
	}
	if _, ok := m.accept(packet(t, kr, 2, 2, at(300)), 2, primaryPriv, at(300)); ok {
		t.Fatal("a sequence number seen before accepted again")
	}
	if st := m.Stats(); st["priv0"].Dropped[wire.DropReplay] != 1 {
		t.Fatalf("drops on priv0: %v, want one replay", st["priv0"].Dropped)
	}
	select {
	case o := <-m.OldRuns():
		t.Fatalf("told of an old run for the current run's own dropped packet: %+v", o)
	default:
	}
}
