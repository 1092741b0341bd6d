package heartbeatd

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/health"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// steps records what the fakes were asked to do, in order.
type steps struct {
	mu  sync.Mutex
	got []string
}

func (s *steps) add(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, step)
}

func (s *steps) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// fakeSender beats every interval until ctx ends, then runs what goes
// before the goodbye and says goodbye.
type fakeSender struct {
	*steps
	before    func()
	reloadErr error
	opts      heartbeat.Options
	targets   []heartbeat.Target // nil: one broadcast target on priv0
}

func (f *fakeSender) Run(ctx context.Context, alive func(), _ time.Duration) error {
	<-ctx.Done()
	if f.before != nil {
		f.before()
	}
	f.add("goodbye")
	return nil
}
func (f *fakeSender) SetHealth(healthy bool, detail string, yielded bool) {
	if healthy {
		f.add("heartbeats say healthy")
		return
	}
	f.add("heartbeats say unhealthy: " + detail + map[bool]string{true: " (yielded)", false: ""}[yielded])
}
func (f *fakeSender) SetBeforeGoodbye(b func()) { f.before = b }
func (f *fakeSender) Reload(o heartbeat.Options) error {
	if f.reloadErr != nil {
		return f.reloadErr
	}
	f.opts = o
	f.add("sender reloaded")
	return nil
}
func (f *fakeSender) Targets() []heartbeat.Target {
	if f.targets != nil {
		return f.targets
	}
	return []heartbeat.Target{{Addr: netip.MustParseAddr("192.0.2.255"), Route: netif.Route{Kind: netif.Broadcast,
		Interface: netif.Interface{Name: "priv0", Up: true, Running: true},
		Addr:      netif.NewAddr(netip.MustParsePrefix("192.0.2.1/24"))}}}
}
func (f *fakeSender) Interfaces() []netif.Interface { return []netif.Interface{{Name: "priv0"}} }
func (f *fakeSender) Epoch() uint64                 { return 7 }

type fakeService struct {
	*steps
	yieldErr, releaseErr, claimErr, holdsErr error
}

func (f *fakeService) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (f *fakeService) Release(context.Context) error {
	time.Sleep(5 * time.Millisecond) // removing takes a moment
	if f.releaseErr != nil {
		return f.releaseErr
	}
	f.add("service addresses removed")
	return nil
}
func (f *fakeService) Yield(context.Context) error {
	if f.yieldErr != nil {
		return f.yieldErr
	}
	time.Sleep(5 * time.Millisecond)
	f.add("service addresses yielded")
	return nil
}
func (f *fakeService) SetHealthy() { f.add("service may be claimed again") }
func (f *fakeService) ClaimReleased(context.Context) error {
	time.Sleep(3 * time.Millisecond) // three questions, then the add
	if f.claimErr != nil {
		return f.claimErr
	}
	f.add("service addresses claimed")
	return nil
}
func (f *fakeService) SecondaryHolds(context.Context) error {
	if f.holdsErr != nil {
		return f.holdsErr
	}
	f.add("service addresses given up to the secondary")
	return nil
}

type fakeAnnouncer struct {
	*steps
	schedule neighbor.Schedule
	last     []netif.Interface // the interfaces of the latest Tickle
}

func (f *fakeAnnouncer) Tickle(_ context.Context, ifs []netif.Interface) {
	f.last = ifs
	f.add("re-announced on " + ifs[0].Name)
}
func (f *fakeAnnouncer) SetSchedule(s neighbor.Schedule) { f.schedule = s }

// world is a daemon with fakes, run by cli.Daemon's parts as the command
// runs it.
type world struct {
	*steps
	d       *Daemon
	sender  *fakeSender
	on      chan heartbeat.FromSecondary
	addr    chan netip.Addr
	cancel  context.CancelFunc
	done    chan struct{}
	service *fakeService
	logs    *lab.SyncBuffer // what the daemon logged
}

// errorLines are the records logged at level ERROR.
func (w *world) errorLines() []string {
	var out []string
	for _, l := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			out = append(out, l)
		}
	}
	return out
}

func newWorld(t *testing.T, withService bool) *world {
	st := &steps{}
	w := &world{steps: st, sender: &fakeSender{steps: st}, on: make(chan heartbeat.FromSecondary, 1), addr: make(chan netip.Addr, 1), logs: &lab.SyncBuffer{}}
	deps := Deps{Sender: w.sender, Announcer: &fakeAnnouncer{steps: st}, Log: slog.New(slog.NewTextHandler(w.logs, nil)),
		Listen: func(ctx context.Context, addr netip.Addr, keys func() *wire.Keyring, on heartbeat.FromSecondary) <-chan struct{} {
			w.addr <- addr
			w.on <- on
			done := make(chan struct{})
			go func() { <-ctx.Done(); close(done) }()
			return done
		},
		Interfaces: func() ([]netif.Interface, error) { return []netif.Interface{{Name: "priv0", Up: true}}, nil },
	}
	if withService {
		w.service = &fakeService{steps: st}
		deps.Service = w.service
	}
	c := &config.Config{BcastIPs: []netip.Addr{netip.MustParseAddr("192.0.2.255")}, Interval: time.Second, Port: 1694, NodeName: "server1"}
	w.d = New(c, deps)
	ctx, cancel := context.WithCancel(t.Context())
	w.cancel, w.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	for _, task := range w.d.Tasks() {
		wg.Go(func() { _ = task.Run(ctx) })
	}
	go func() { _ = w.d.Run(ctx); wg.Wait(); close(w.done) }()
	synctest.Wait()
	return w
}

func (w *world) stop() { w.cancel(); <-w.done }

var failure = health.Failure{Check: "Check10.http", Outcome: "exit 22"}

// A failing check: the service addresses go first, then the heartbeats
// say unhealthy and that they went. failoverd takes them the moment they
// stop answering, so they must be gone before it hears why.
func TestFailingCheckRemovesTheAddressesBeforeTheHeartbeatsSaySo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		defer w.stop()
		w.d.Health(t.Context(), false, failure)
		got := w.list()
		if len(got) != 2 || got[0] != "service addresses yielded" || !strings.HasPrefix(got[1], "heartbeats say unhealthy") || !strings.HasSuffix(got[1], "(yielded)") {
			t.Fatalf("steps %q: want the addresses yielded, then the heartbeats saying unhealthy (yielded)", got)
		}
		// Addresses that could not be removed: the heartbeats say
		// unhealthy without "yielded", and nothing is taken over.
		w.service.yieldErr = errors.New("netlink: operation not permitted")
		w.d.Health(t.Context(), false, failure)
		if got := w.list(); strings.HasSuffix(got[len(got)-1], "(yielded)") {
			t.Fatalf("steps %q: the heartbeats said yielded for addresses that stayed", got)
		}
		// Healthy again: the heartbeats say so at once, the addresses
		// come back after the secondary's released.
		w.d.Health(t.Context(), true, health.Failure{})
		if got := w.list(); !slices.Equal(got[len(got)-2:], []string{"service may be claimed again", "heartbeats say healthy"}) {
			t.Fatalf("steps %q", got)
		}
	})
}

// The secondary's released: the service addresses are claimed, then this
// host's addresses re-announced, on the interfaces as they are now. The
// listener listens on this host's private address, for this run's epoch.
func TestReleasedClaimsThenReannounces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		defer w.stop()
		if a := <-w.addr; a != netip.MustParseAddr("192.0.2.1") {
			t.Fatalf("listening on %v, want the private link's address", a)
		}
		on := <-w.on
		if on.Epoch != 7 || on.Holding == nil {
			t.Fatalf("listener %+v: want this run's epoch, and holding heard with service addresses", on)
		}
		on.Released(netip.MustParseAddr("192.0.2.2"), wire.Packet{Type: wire.Released, Sender: "server2"})
		if got := w.list(); !slices.Equal(got, []string{"service addresses claimed", "re-announced on priv0"}) {
			t.Fatalf("steps %q: want the addresses claimed, then re-announced", got)
		}
		on.Holding(netip.MustParseAddr("192.0.2.2"), wire.Packet{Type: wire.Holding, Sender: "server2"})
		if got := w.list(); got[len(got)-1] != "service addresses given up to the secondary" {
			t.Fatalf("steps %q: holding did not give the addresses up", got)
		}
		if errs := w.errorLines(); len(errs) > 0 {
			t.Fatalf("errors logged where all went well: %q", errs)
		}
	})
}

// A claim or a give-up that fails is logged as an error, and the
// addresses are re-announced after released all the same.
func TestFailedClaimIsLoggedAndStillReannounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		defer w.stop()
		w.service.claimErr = errors.New("RTNETLINK answers: Operation not permitted")
		w.service.holdsErr = errors.New("RTNETLINK answers: Cannot assign requested address")
		<-w.addr
		on := <-w.on
		on.Released(netip.MustParseAddr("192.0.2.2"), wire.Packet{Type: wire.Released, Sender: "server2"})
		if got := w.list(); !slices.Contains(got, "re-announced on priv0") {
			t.Fatalf("steps %q: not re-announced after a failed claim", got)
		}
		on.Holding(netip.MustParseAddr("192.0.2.2"), wire.Packet{Type: wire.Holding, Sender: "server2"})
		errs := strings.Join(w.errorLines(), "\n")
		for _, want := range []string{"cannot add the service addresses", "Operation not permitted", "cannot remove the service addresses", "Cannot assign requested address"} {
			if !strings.Contains(errs, want) {
				t.Errorf("no error logged with %q; errors:\n%s", want, errs)
			}
		}
	})
}

// A reload the sender refuses keeps the running configuration: the old
// keys, schedule and settings; the addresses are announced again either
// way. One it takes replaces them all.
func TestRefusedReloadKeepsTheRunningConfiguration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		defer w.stop()
		before := w.d.cfg.Load()
		w.sender.reloadErr = errors.New("heartbeat: no targets")
		nc := &config.Config{Interval: 2 * time.Second, AnnounceRepeats: 9}
		w.d.Reload(t.Context(), nc)
		if w.d.cfg.Load() != before || slices.Contains(w.list(), "sender reloaded") {
			t.Fatal("a refused reload replaced the running configuration")
		}
		if got := w.list(); got[len(got)-1] != "re-announced on priv0" {
			t.Fatalf("steps %q: want a re-announcement", got)
		}
		w.sender.reloadErr = nil
		nc.BcastIPs = before.BcastIPs
		w.d.Reload(t.Context(), nc)
		if w.d.cfg.Load() != nc || w.sender.opts.Interval != 2*time.Second {
			t.Fatal("a good reload was not applied")
		}
		if s := w.d.Announcer.(*fakeAnnouncer).schedule; s.Repeats != 9 {
			t.Fatal("the announcements' schedule was not reloaded")
		}
	})
}

// A planned stop: the service addresses are removed before the goodbye
// goes out, so failoverd, which takes them the moment they stop
// answering, never finds them held twice.
func TestGoodbyeGoesAfterTheServiceAddressesAreRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		w.stop()
		if got := w.list(); !slices.Equal(got, []string{"service addresses removed", "goodbye"}) {
			t.Fatalf("steps %q: want the addresses removed, then the goodbye", got)
		}
		if errs := w.errorLines(); len(errs) > 0 {
			t.Fatalf("errors logged where all went well: %q", errs)
		}
		// A removal that fails is logged, and the goodbye goes anyway.
		w = newWorld(t, true)
		w.service.releaseErr = errors.New("RTNETLINK answers: Operation not permitted")
		w.stop()
		if got := w.list(); !slices.Equal(got, []string{"goodbye"}) {
			t.Fatalf("steps %q: want the goodbye after the failed removal", got)
		}
		if errs := strings.Join(w.errorLines(), "\n"); !strings.Contains(errs, "cannot remove the service addresses") || !strings.Contains(errs, "Operation not permitted") {
			t.Fatalf("the failed removal was not logged as an error:\n%s", errs)
		}
		// Without service addresses, the goodbye alone.
		w = newWorld(t, false)
		w.stop()
		if got := w.list(); !slices.Equal(got, []string{"goodbye"}) {
			t.Fatalf("steps %q", got)
		}
	})
}

// After released, the addresses are re-announced on the sender's links as
// the host has them now: the secondary gives back the moment it hears
// this host, which may be before the sender has seen its link come back.
// When the interfaces cannot be listed, they go out on the links as last
// seen, with a warning.
func TestReleasedReannouncesOnTheLinksAsTheyAreNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		defer w.stop()
		<-w.addr
		on := <-w.on
		// The sender last saw priv0 down; it is back, and pub0 is no
		// link of the sender's.
		w.d.Interfaces = func() ([]netif.Interface, error) {
			return []netif.Interface{{Name: "pub0", Up: true, Running: true}, {Name: "priv0", Index: 2, Up: true, Running: true}}, nil
		}
		on.Released(netip.MustParseAddr("192.0.2.2"), wire.Packet{Type: wire.Released, Sender: "server2"})
		ann := w.d.Announcer.(*fakeAnnouncer)
		if got := ann.last; len(got) != 1 || got[0].Name != "priv0" || !got[0].Running || got[0].Index != 2 {
			t.Fatalf("re-announced on %+v: want priv0 as it is now (up, with carrier)", got)
		}
		w.d.Interfaces = func() ([]netif.Interface, error) { return nil, errors.New("netlink: no buffer space available") }
		on.Released(netip.MustParseAddr("192.0.2.2"), wire.Packet{Type: wire.Released, Sender: "server2"})
		if got := ann.last; len(got) != 1 || got[0].Name != "priv0" || got[0].Running {
			t.Fatalf("re-announced on %+v: want priv0 as the sender last saw it", got)
		}
		if logs := w.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "announcing on the links as last seen") {
			t.Fatalf("no warning that the interfaces could not be listed:\n%s", logs)
		}
	})
}

// The start's log says, for each target, the link its heartbeats leave
// on, and warns of a target on no connected subnet (a broadcast address
// that matches no link's subnet, so nothing arrives and nobody says why).
func TestStartWarnsOfATargetOnNoSubnet(t *testing.T) {
	logs := &lab.SyncBuffer{}
	st := &steps{}
	sender := &fakeSender{steps: st, targets: []heartbeat.Target{
		{Addr: netip.MustParseAddr("192.0.2.255"), Route: netif.Route{Kind: netif.Broadcast,
			Interface: netif.Interface{Name: "priv0", Up: true, Running: true}, Addr: netif.NewAddr(netip.MustParsePrefix("192.0.2.1/24"))}},
		{Addr: netip.MustParseAddr("198.51.100.255")}, // no subnet of this host's holds it
	}}
	d := New(&config.Config{BcastIPs: []netip.Addr{netip.MustParseAddr("192.0.2.255"), netip.MustParseAddr("198.51.100.255")}, Interval: time.Second, Port: 1694},
		Deps{Sender: sender, Announcer: &fakeAnnouncer{steps: st}, Log: slog.New(slog.NewTextHandler(logs, nil))})
	d.Started(t.Context())
	var warn, info []string
	for _, l := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(l, "level=WARN"):
			warn = append(warn, l)
		case strings.Contains(l, "sending heartbeats"):
			info = append(info, l)
		}
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "198.51.100.255") || !strings.Contains(warn[0], "no connected subnet") {
		t.Errorf("warnings %q: want one, for 198.51.100.255 on no connected subnet", warn)
	}
	if len(info) != 1 || !strings.Contains(info[0], "target=192.0.2.255") || !strings.Contains(info[0], "link=priv0") {
		t.Errorf("targets logged %q: want 192.0.2.255 on priv0", info)
	}
}

// failoverd sends its messages to this host's address on the first
// target's link; with no target, or a first one on no link, there is no
// such address and the listener hears on every address.
func TestPrivateAddrIsTheFirstLinksAddress(t *testing.T) {
	onLink := heartbeat.Target{Addr: netip.MustParseAddr("192.0.2.255"), Route: netif.Route{Kind: netif.Broadcast,
		Interface: netif.Interface{Name: "priv0"}, Addr: netif.NewAddr(netip.MustParsePrefix("192.0.2.1/24"))}}
	noLink := heartbeat.Target{Addr: netip.MustParseAddr("198.51.100.255")}
	for _, c := range []struct {
		name    string
		targets []heartbeat.Target
		want    netip.Addr
	}{
		{"first on a link", []heartbeat.Target{onLink, noLink}, netip.MustParseAddr("192.0.2.1")},
		{"first on no link", []heartbeat.Target{noLink, onLink}, netip.Addr{}},
		{"no target", nil, netip.Addr{}},
	} {
		if got := PrivateAddr(c.targets); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
