package failoverd

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/standby"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// bus carries the standbys' announcements between runtimes in one
// bubble, as the standby port's broadcasts do: each announcement reaches
// every other member that runs.
type bus struct {
	mu      sync.Mutex
	members map[string]func(standby.Peer) // by name, while its Run runs
	cut     map[string]bool               // members whose announcements go nowhere, and who hear none
}

func newBus() *bus { return &bus{members: map[string]func(standby.Peer){}, cut: map[string]bool{}} }

// member is one runtime's end of the bus.
type member struct {
	b    *bus
	name string
}

func (m member) Announce(s standby.Self, every time.Duration, now time.Time) (int, error) {
	m.b.mu.Lock()
	var to []func(standby.Peer)
	for n, deliver := range m.b.members {
		if n != m.name && !m.b.cut[n] && !m.b.cut[m.name] {
			to = append(to, deliver)
		}
	}
	m.b.mu.Unlock()
	for _, deliver := range to {
		deliver(standby.Peer{Self: s, Heard: now, Link: "priv0", Interval: every})
	}
	return len(to), nil
}

func (m member) Run(ctx context.Context, deliver func(standby.Peer)) error {
	m.b.mu.Lock()
	m.b.members[m.name] = deliver
	m.b.mu.Unlock()
	<-ctx.Done()
	m.b.mu.Lock()
	delete(m.b.members, m.name)
	m.b.mu.Unlock()
	return nil
}

func (member) Stats() standby.Stats { return standby.Stats{} }

// standbyWorld is a runtime named name with priority prio on the bus.
func standbyWorld(t *testing.T, b *bus, name string, prio int) *world {
	return newWorldDeps(t, false, nil, nil, func(d *Deps) { d.Standbys = member{b, name} }, func(c *Config) {
		c.Node, c.Priority = name, prio
	})
}

// beatAll has the primary beat on every world for d.
func beatAll(d time.Duration, ws ...*world) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		for _, w := range ws {
			w.beat(links...)
		}
		time.Sleep(interval)
	}
}

// Three standbys of one primary: when it dies, the one of the highest
// priority takes the addresses and the others watch it, with no conflict
// notice; when that one dies too, the next takes them.
func TestTheHighestStandbyTakesOverAndTheNextAfterIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		high, mid, low := standbyWorld(t, b, "server2", 200), standbyWorld(t, b, "server3", 150), standbyWorld(t, b, "server4", 100)
		beatAll(time.Second, high, mid, low)
		// The primary's power goes off.
		high.waitState(failover.Active, 2*time.Second)
		time.Sleep(2 * time.Second)
		for _, w := range []*world{mid, low} {
			if s := w.d.State(); s != failover.Standby {
				t.Fatalf("%s: %s after server2 took over, want standby", w.d.cfg.Node, s)
			}
			if ks := w.notices.kinds(); len(ks) != 0 {
				t.Fatalf("%s: notices %v while server2 holds the addresses, want none", w.d.cfg.Node, ks)
			}
			if y := w.d.Status().Yielding; y == nil || y.To != "server2" || !y.Holds {
				t.Fatalf("%s: yielding %+v, want to server2, which holds the addresses", w.d.cfg.Node, y)
			}
			if len(w.hooks.stages()) != 0 {
				t.Fatalf("%s: hooks ran: %v", w.d.cfg.Node, w.hooks.stages())
			}
			if !slices.ContainsFunc(w.request(control.OpEvents).Events, func(e history.Entry) bool {
				return e.Kind == history.KindYield && e.Detail == "standby server2 (priority 200) holds the addresses; this host watches it"
			}) {
				t.Fatalf("%s: no event says it watches server2: %+v", w.d.cfg.Node, w.request(control.OpEvents).Events)
			}
		}
		// server2's power goes off too.
		high.stop()
		mid.waitState(failover.Active, 2*time.Second)
		time.Sleep(2 * time.Second)
		if s := low.d.State(); s != failover.Standby {
			t.Fatalf("server4: %s after server3 took over, want standby", s)
		}
	})
}

// Two standbys of one priority: each is told, once.
func TestStandbysOfOnePriorityAreTold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		a, c := standbyWorld(t, b, "server2", 100), standbyWorld(t, b, "server3", 100)
		beatAll(3*time.Second, a, c)
		for _, w := range []*world{a, c} {
			if n := countKind(w.notices.kinds(), notice.StandbyTie); n != 1 {
				t.Fatalf("%s: %d standby-tie notices, want 1: %v", w.d.cfg.Node, n, w.notices.kinds())
			}
		}
		// And the name orders them: server2 takes, server3 does not.
		a.waitState(failover.Active, 2*time.Second)
		time.Sleep(time.Second)
		if s := c.d.State(); s != failover.Standby {
			t.Fatalf("server3: %s, want standby", s)
		}
	})
}

func countKind(ks []notice.Kind, k notice.Kind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

func TestASlowerStandbyCountsAliveAtItsOwnPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		low := standbyWorld(t, b, "server3", 100)
		for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			low.beatEvery(20 * time.Millisecond) // the primary's interval, shorter than the default 100 ms
		}
		// The primary's power goes off; server2 starts now, and hears
		// nothing of it.
		high := standbyWorld(t, b, "server2", 200)
		time.Sleep(2 * time.Second)
		if st := low.hooks.stages(); len(st) != 0 {
			t.Fatalf("server3 ran hooks %v while server2, above it, was alive", st)
		}
		if s := low.d.State(); s != failover.Standby {
			t.Fatalf("server3: %s, want standby", s)
		}
		if s := high.d.State(); s != failover.Active {
			t.Fatalf("server2: %s, want active", s)
		}
	})
}

func TestAStandbyWithItsAddressLinkDarkLeavesTheAddressesToTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		mk := func(name string, prio int) *world {
			return newWorldDeps(t, false, newAsker(), nil, func(d *Deps) { d.Standbys = member{b, name} }, func(c *Config) {
				c.Node, c.Priority = name, prio
			})
		}
		high, low := mk("server2", 200), mk("server3", 100)
		beatAll(time.Second, high, low)
		high.carrier <- carrierChange{"pub0", false} // its public cable is pulled
		synctest.Wait()
		// The primary's power goes off.
		low.waitState(failover.Active, 3*time.Second)
		time.Sleep(time.Second)
		if high.holds() || len(high.hooks.stages()) != 0 {
			t.Fatalf("server2, its address link dark, took the addresses: hooks %v", high.hooks.stages())
		}
		high.carrier <- carrierChange{"pub0", true}
		synctest.Wait()
		time.Sleep(time.Second)
		if s := low.d.State(); s != failover.Active {
			t.Fatalf("server3: %s once server2's carrier is back, want active (server2 leaves the addresses to the holder)", s)
		}
		if y := high.d.Status().Yielding; y == nil || y.To != "server3" || !y.Holds {
			t.Fatalf("server2 yields to %+v, want server3, which holds the addresses", y)
		}
	})
}

func TestAStandbyThatHearsNoAnswerLeavesTheAddressesToTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		mk := func(name string, prio int, a *fakeAsker) *world {
			return newWorldDeps(t, false, a, nil, func(d *Deps) { d.Standbys = member{b, name} }, func(c *Config) {
				c.Node, c.Priority = name, prio
			})
		}
		deaf := newAsker()
		high, low := mk("server2", 200, deaf), mk("server3", 100, newAsker())
		beatAll(time.Second, high, low)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for {
				select {
				case deaf.fail <- errors.New("the ARP socket broke"):
				case <-ctx.Done():
					return
				}
			}
		}()
		synctest.Wait()
		// The primary's power goes off.
		low.waitState(failover.Active, 3*time.Second)
		time.Sleep(time.Second)
		if high.holds() || len(high.hooks.stages()) != 0 {
			t.Fatalf("server2, hearing no answer, took the addresses: hooks %v", high.hooks.stages())
		}
		cancel()
	})
}

// beatEvery delivers one heartbeat on each link now, saying iv.
func (w *world) beatEvery(iv time.Duration) {
	var hs []monitor.Heard
	for _, l := range links {
		hs = append(hs, monitor.Heard{Link: l, From: senders[l], At: time.Now(), Packet: wire.Packet{Type: wire.Heartbeat, Epoch: primaryEpoch, Interval: iv, HardwareAddr: primaryHW}})
	}
	w.src.in <- hs
	synctest.Wait()
}

// A standby that has not heard the primary (it started after the primary
// died) announces itself at the default interval, slower than the
