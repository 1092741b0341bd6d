package monitor

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// A flood of junk is not a flood of log lines: the first drop of a
// reason on a link is a warning, then a debug line with the count at
// most once a second (at a second since the last, not before).
func TestDropsAreLoggedOnceASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, logs := testMonitor(t, wire.NewKeyring(), false)
		logged := func() (warn, debug int) {
			for _, l := range strings.Split(logs.String(), "\n") {
				if !strings.Contains(l, `msg="dropped packet" link=priv0 reason=malformed`) {
					continue
				}
				switch {
				case strings.Contains(l, "level=WARN"):
					warn++
				case strings.Contains(l, "level=DEBUG"):
					debug++
				}
			}
			return warn, debug
		}
		drop := func(n int, wantWarn, wantDebug int) {
			t.Helper()
			for range n {
				if _, ok := m.accept([]byte("junk"), 2, primaryPriv, time.Now()); ok {
					t.Fatal("junk accepted")
				}
			}
			if w, d := logged(); w != wantWarn || d != wantDebug {
				t.Fatalf("after %d drops: %d warnings and %d debug lines, want %d and %d:\n%s",
					m.Stats()["priv0"].Dropped[wire.DropMalformed], w, d, wantWarn, wantDebug, logs)
			}
		}
		drop(1, 1, 0) // the first: a warning
		drop(1, 1, 1) // the second: its count
		drop(5, 1, 1)
		time.Sleep(time.Second - time.Nanosecond)
		drop(5, 1, 1)
		time.Sleep(time.Nanosecond) // a second since the last line
		drop(1, 1, 2)
		if !strings.Contains(logs.String(), "dropped=13") {
			t.Fatalf("the count is not in the log:\n%s", logs)
		}
	})
}

// An interface that appears after the start (a link's interface created
// late) is known at most a second later, and junk from interfaces that
// are not links lists the interfaces at most once a second.
func TestANewInterfaceIsLearnedWithinASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ifs := []netif.Interface{{Name: "priv0", Index: 2}}
		lists := 0
		m := newMonitor(Config{
			Port: 1694, Links: []string{"priv0", "pub0"}, Peers: []netip.Addr{primaryPriv, primaryPub},
			Keyring:  func() *wire.Keyring { return wire.NewKeyring() },
			Snapshot: func() ([]netif.Interface, error) { lists++; return ifs, nil },
		}, slog.New(slog.DiscardHandler))
		seq := uint64(0)
		heard := func() bool {
			seq++
			_, ok := m.accept(packet(t, wire.NewKeyring(), 1, seq, time.Now()), 3, primaryPub, time.Now())
			return ok
		}
		ifs = append(ifs, netif.Interface{Name: "pub0", Index: 3})
		time.Sleep(time.Second - time.Nanosecond)
		for range 10 {
			if heard() {
				t.Fatal("the interfaces were listed again within a second")
			}
		}
		if lists != 1 {
			t.Fatalf("the interfaces were listed %d times within a second", lists)
		}
		time.Sleep(time.Nanosecond)
		if !heard() {
			t.Fatalf("pub0's heartbeat was dropped a second after its interface appeared: %v", m.Stats())
		}
		if lists != 2 {
			t.Fatalf("the interfaces were listed %d times, want 2", lists)
		}
	})
}

// An interface renamed to a link's name (the pairs named it wrongly,
// and the interface is renamed to match) is that link at most a second
// later: before, its index stayed known by its old name, and every
// heartbeat on it was dropped as from no link.
func TestARenamedInterfaceIsLearnedWithinASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ifs := []netif.Interface{{Name: "priv0", Index: 2}, {Name: "eth0", Index: 3}}
		m := newMonitor(Config{
			Port: 1694, Links: []string{"priv0", "pub0"}, Peers: []netip.Addr{primaryPriv, primaryPub},
			Keyring:  func() *wire.Keyring { return wire.NewKeyring() },
			Snapshot: func() ([]netif.Interface, error) { return slices.Clone(ifs), nil },
		}, slog.New(slog.DiscardHandler))
		seq := uint64(0)
		heard := func() bool {
			seq++
			_, ok := m.accept(packet(t, wire.NewKeyring(), 1, seq, time.Now()), 3, primaryPub, time.Now())
			return ok
		}
		if heard() {
			t.Fatal("a heartbeat on eth0, no link, was accepted")
		}
		ifs[1].Name = "pub0"
		time.Sleep(time.Second)
		if !heard() {
			t.Fatalf("a heartbeat on pub0 was dropped a second after the interface was renamed to it: %v", m.Stats())
		}
	})
}

// Drain of a monitor with nothing queued, or closed (at shutdown), logs
// nothing: failoverd drains before every decision. Loopback only; no
// root needed.
func TestAnIdleOrClosedDrainLogsNothing(t *testing.T) {
	m, _ := loopbackMonitor(t)
	var logs bytes.Buffer
	m.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m.Drain(func([]Heard) { t.Error("an idle drain delivered") })
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.Drain(func([]Heard) { t.Error("a closed drain delivered") })
	if logs.Len() != 0 {
		t.Fatalf("Drain logged:\n%s", logs.String())
	}
}

// Replacing a link's kernel filter after a heartbeat works, and the log
// says so at debug level, with no warning. Loopback only; no root
// needed.
func TestReplacingTheFilterIsNoWarning(t *testing.T) {
	m, _ := loopbackMonitor(t)
	defer m.Close()
	var logs bytes.Buffer
	m.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.accept(packet(t, wire.NewKeyring(), 1, 1, time.Now()), lo.Index, netip.MustParseAddr("127.0.0.1"), time.Now()); !ok {
		t.Fatalf("the heartbeat was dropped: %v", m.Stats())
	}
	if !strings.Contains(logs.String(), `level=DEBUG msg="heartbeat filter replaced" link=lo`) || strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("the log after lo heard the primary:\n%s", logs.String())
	}
}
