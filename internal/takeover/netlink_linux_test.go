package takeover

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/neighbor"
)

const wrongMAC = "02:00:00:00:00:99"

// pair is a two-host lab: a (the host that takes addresses over) and b
// (a neighbour on the same link) joined by pub0.
type pair struct {
	a, b  *lab.NS
	nl    *Netlink
	mover *Mover
	macA  string
}

func newPair(t testing.TB) *pair {
	l := lab.New(t)
	p := &pair{a: l.Netns("a"), b: l.Netns("b")}
	l.Veth(p.a, "pub0", p.b, "pub0")
	p.a.Addr("pub0", "198.51.100.2/24")
	p.b.Addr("pub0", "198.51.100.3/24")
	p.a.MustRun("ip", "-6", "addr", "add", "2001:db8::2/64", "dev", "pub0", "nodad")
	p.b.MustRun("ip", "-6", "addr", "add", "2001:db8::3/64", "dev", "pub0", "nodad")
	// Let a gratuitous ARP override b's entries at once (the default lock
	// time is 1 s).
	p.b.Sysctl("net.ipv4.neigh.pub0.locktime", "0")
	var an neighbor.Announcer
	err := p.a.Do(func() error {
		var err error
		if p.nl, err = NewNetlink(); err != nil {
			return err
		}
		an, err = neighbor.NewAnnouncer()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.nl.Close(); an.Close() })
	p.mover = &Mover{Manager: p.nl, Announcer: an, Schedule: neighbor.Schedule{Burst: 2, Repeats: 2, Spacing: 200 * time.Millisecond}}
	ifi, err := p.nl.Interface("pub0")
	if err != nil {
		t.Fatal(err)
	}
	p.macA = ifi.HardwareAddr.String()
	return p
}

// poison makes b believe addr is at a wrong MAC.
func (p *pair) poison(t testing.TB, addr string) {
	t.Helper()
	p.b.MustRun("ip", "neigh", "replace", addr, "lladdr", wrongMAC, "dev", "pub0", "nud", "stale")
	if got := lab.Neighbour(p.b, "pub0", addr); got != wrongMAC {
		t.Fatalf("could not set b's entry for %s: %q", addr, got)
	}
}

// addrLine is a's `ip -o addr show` line for ip, or "".
func addrLine(ns *lab.NS, ip string) string {
	out, _ := ns.Run("ip", "-o", "addr", "show", "dev", "pub0")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, " "+ip+"/") {
			return line
		}
	}
	return ""
}

// capture runs tcpdump in ns; lines returns what it printed so far, and
// stop ends it and returns all it printed.
func capture(t *testing.T, ns *lab.NS, filter string) (lines, stop func() []string) {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatal("tcpdump is needed (apt-get install tcpdump; .ci/run installs it)")
	}
	cmd := ns.Command("tcpdump", "-l", "-n", "-e", "-i", "pub0", filter)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
			}
		}
	}()
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			got = append(got, sc.Text())
			mu.Unlock()
		}
		close(done)
	}()
	select {
	case <-listening:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("tcpdump did not start")
	}
	lines = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	return lines, func() []string {
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
		return lines()
	}
}

func TestAcquireAnnounceRelease(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	vip := addr("pub0", "198.51.100.1/32")
	p.poison(t, "198.51.100.1")
	lines, stop := capture(t, p.b, "arp")

	if err := p.mover.Take(ctx, vip); err != nil {
		t.Fatal(err)
	}
	// The address is there, marked as ours, never preferred as a source.
	line := addrLine(p.a, "198.51.100.1")
	for _, want := range []string{"inet 198.51.100.1/32", "pub0:ipfo", "deprecated"} {
		if !strings.Contains(line, want) {
			t.Errorf("ip addr line lacks %q: %q", want, line)
		}
	}
	// b's kernel moved its entry to a's MAC.
	if !lab.WaitFor(2*time.Second, func() bool { return lab.Neighbour(p.b, "pub0", "198.51.100.1") == p.macA }) {
		t.Fatalf("b's neighbour entry is %q, want %s", lab.Neighbour(p.b, "pub0", "198.51.100.1"), p.macA)
	}
	// Burst of 2 plus 2 repeats (200 ms apart), each a request and a
	// reply. Once the schedule is over (Give stops it; a third repeat
	// would come 200 ms after the second), there must be no more.
	count := func(lines []string) (nreq, nrep int) {
		req := "Request who-has 198.51.100.1 tell 198.51.100.1"
		rep := "Reply 198.51.100.1 is-at " + p.macA
		for _, l := range lines {
			if !strings.HasPrefix(l, strings.Split(l, " ")[0]+" "+p.macA+" > ff:ff:ff:ff:ff:ff") {
				continue
			}
			if strings.Contains(l, req) {
				nreq++
			}
			if strings.Contains(l, rep) {
				nrep++
			}
		}
		return nreq, nrep
	}
	lab.WaitFor(5*time.Second, func() bool { nreq, nrep := count(lines()); return nreq >= 4 && nrep >= 4 })
	lab.Stays(300*time.Millisecond, func() bool { nreq, nrep := count(lines()); return nreq <= 4 && nrep <= 4 })
	all := stop()
	if nreq, nrep := count(all); nreq != 4 || nrep != 4 {
		t.Errorf("tcpdump saw %d requests and %d replies from %s to broadcast, want 4 and 4:\n%s", nreq, nrep, p.macA, strings.Join(all, "\n"))
	}

	// Idempotent: a second acquire keeps one address.
	if err := p.nl.Acquire(ctx, vip); err != nil {
		t.Fatal(err)
	}
	out, _ := p.a.Run("ip", "-o", "addr", "show", "dev", "pub0")
	if n := strings.Count(out, "198.51.100.1/"); n != 1 {
		t.Fatalf("after a second acquire the address is there %d times:\n%s", n, out)
	}
	if err := p.mover.Give(ctx, vip); err != nil {
		t.Fatal(err)
	}
	if line := addrLine(p.a, "198.51.100.1"); line != "" {
		t.Fatalf("still there after release: %q", line)
	}
	if err := p.nl.Release(ctx, vip); err != nil {
		t.Fatalf("release of an absent address: %v", err)
	}
}

func TestOtherSubnetKeepsItsPrefix(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	if err := p.nl.Acquire(ctx, addr("pub0", "203.0.113.10/24")); err != nil {
		t.Fatal(err)
	}
	line := addrLine(p.a, "203.0.113.10")
	if !strings.Contains(line, "inet 203.0.113.10/24 brd 203.0.113.255") {
		t.Fatalf("address on another subnet: %q", line)
	}
	routes, _ := p.a.Run("ip", "route", "show", "203.0.113.0/24")
	if !strings.Contains(routes, "dev pub0") {
		t.Fatalf("its subnet must be reachable on pub0: %q", routes)
	}
}

func TestHeldReportsExactlyTheHeld(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	held := addr("pub0", "198.51.100.1/32")
	if err := p.nl.Acquire(ctx, held); err != nil {
		t.Fatal(err)
	}
	// The host's own address is not one failoverd holds; nor is an
	// address on another interface than the one named.
	own := addr("pub0", "198.51.100.2/32")
	got, err := p.nl.Held(ctx, []Address{held, addr("pub0", "198.51.100.50/32"), own, addr("eth9", "198.51.100.1/32"), addr("lo", "198.51.100.1/32")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []Address{held}) {
		t.Fatalf("held %v, want only %v", got, held)
	}
}

// failoverd never removes or re-adds the host's own address, even when a
// pair names it by mistake.
func TestOwnAddressIsNeverTouched(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	own := addr("pub0", "198.51.100.2/32")
	if err := p.nl.Release(ctx, own); !errors.Is(err, ErrOwnAddress) {
		t.Errorf("release of the host's own address: %v", err)
	}
	if err := p.nl.Acquire(ctx, own); !errors.Is(err, ErrOwnAddress) {
		t.Errorf("acquire of the host's own address: %v", err)
	}
	if line := addrLine(p.a, "198.51.100.2"); !strings.Contains(line, "198.51.100.2/24") || strings.Contains(line, "deprecated") {
		t.Errorf("the host's own address changed: %q", line)
	}
}

// A leftover of ours with another prefix (the mask changed in the
// configuration) is replaced, and release removes every entry of ours.
func TestChangedPrefix(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	if err := p.nl.Acquire(ctx, addr("pub0", "203.0.113.10/24")); err != nil {
		t.Fatal(err)
	}
	if err := p.nl.Acquire(ctx, addr("pub0", "203.0.113.10/32")); err != nil {
		t.Fatal(err)
	}
	out, _ := p.a.Run("ip", "-o", "addr", "show", "dev", "pub0")
	if strings.Count(out, "203.0.113.10/") != 1 || !strings.Contains(out, "203.0.113.10/32") {
		t.Fatalf("after the prefix changed:\n%s", out)
	}
	p.a.MustRun("ip", "addr", "add", "203.0.113.10/24", "dev", "pub0", "label", "pub0:ipfo")
	if err := p.nl.Release(ctx, addr("pub0", "203.0.113.10/32")); err != nil {
		t.Fatal(err)
	}
	if line := addrLine(p.a, "203.0.113.10"); line != "" {
		t.Fatalf("release left %q", line)
	}
}

func TestFlushedAddressComesBack(t *testing.T) {
	p := newPair(t)
	vip := addr("pub0", "198.51.100.1/32")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.mover.Take(ctx, vip); err != nil {
		t.Fatal(err)
	}
	const period = 300 * time.Millisecond
	go p.mover.Keep(ctx, period)
	p.a.MustRun("ip", "addr", "del", "198.51.100.1/32", "dev", "pub0")
	p.poison(t, "198.51.100.1")
	gone := time.Now()
	// Within one check period (TestCheckRestoresVanished holds that to
	// the millisecond on a fake clock); here a busy machine gets a second
	// more, since a Keep that never checks would never bring it back.
	if !lab.WaitFor(period+time.Second, func() bool { return addrLine(p.a, "198.51.100.1") != "" }) {
		t.Fatalf("flushed address not back within one check period (%v) and a second", period)
	}
	t.Logf("back after %v (check period %v)", time.Since(gone).Round(time.Millisecond), period)
	if !lab.WaitFor(time.Second, func() bool { return lab.Neighbour(p.b, "pub0", "198.51.100.1") == p.macA }) {
		t.Fatalf("restored address was not announced: b has %q", lab.Neighbour(p.b, "pub0", "198.51.100.1"))
	}
}

func TestIPv6TakeoverUpdatesNeighbour(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	// On pub0's own subnet, so installed as a /128 (the mask rule).
	vip := addr("pub0", "2001:db8::10/128")
	p.poison(t, "2001:db8::10")
	if err := p.mover.Take(ctx, vip); err != nil {
		t.Fatal(err)
	}
	line := addrLine(p.a, "2001:db8::10")
	for _, want := range []string{"inet6 2001:db8::10/128", "nodad", "preferred_lft 0sec"} {
		if !strings.Contains(line, want) {
			t.Errorf("ip addr line lacks %q: %q", want, line)
		}
	}
	if strings.Contains(line, "tentative") {
		t.Errorf("address is tentative (DAD running): %q", line)
	}
	if !lab.WaitFor(2*time.Second, func() bool { return lab.Neighbour(p.b, "pub0", "2001:db8::10") == p.macA }) {
		t.Fatalf("b's neighbour entry for 2001:db8::10 is %q, want %s", lab.Neighbour(p.b, "pub0", "2001:db8::10"), p.macA)
	}
	if err := p.mover.Give(ctx, vip); err != nil {
		t.Fatal(err)
	}
	if line := addrLine(p.a, "2001:db8::10"); line != "" {
		t.Fatalf("still there after release: %q", line)
	}
}

// TestMain lets the test binary run one takeover step as a child
// process, so that a test can run it without a capability.
func TestMain(m *testing.M) {
	switch os.Getenv("IPFO_TAKEOVER_STEP") {
	case "acquire":
		nl, err := NewNetlink()
		if err == nil {
			err = nl.Acquire(context.Background(), addr("pub0", "198.51.100.1/32"))
		}
		fmt.Println(err)
		return
	}
	os.Exit(m.Run())
}

// Without CAP_NET_ADMIN, the error names the capability (neighbor's
// test does the same for its sockets and CAP_NET_RAW).
func TestPermissionErrorsNameTheCapability(t *testing.T) {
	p := newPair(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("skipped: needs setpriv (util-linux) to drop capabilities")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for step, want := range map[string]string{"acquire": "needs CAP_NET_ADMIN"} {
		cmd := p.a.Command("env", "IPFO_TAKEOVER_STEP="+step, "setpriv", "--bounding-set=-net_admin,-net_raw", "--inh-caps=-all", "--", exe)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", step, err, out)
		}
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), "permission denied") {
			t.Errorf("%s without the capability says %q, want it to say %q", step, strings.TrimSpace(string(out)), want)
		}
	}
	if line := addrLine(p.a, "198.51.100.1"); line != "" {
		t.Errorf("the address was added without CAP_NET_ADMIN: %q", line)
	}
}

func TestErrorsNameTheInterface(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	err := p.nl.Acquire(ctx, addr("eth9", "198.51.100.1/32"))
	if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), "eth9") {
		t.Errorf("missing interface: %v", err)
	}
	p.a.MustRun("ip", "link", "set", "pub0", "down")
	err = p.nl.Acquire(ctx, addr("pub0", "198.51.100.1/32"))
	if !errors.Is(err, ErrInterfaceDown) || !strings.Contains(err.Error(), "pub0") {
		t.Errorf("down interface: %v", err)
	}
	if err := p.nl.Release(ctx, addr("eth9", "198.51.100.1/32")); err != nil {
		t.Errorf("release on a missing interface has nothing to remove: %v", err)
	}
}

// BenchmarkTakeoverToNeighbour measures what a client sees of a takeover:
// from the call that adds the address to the moment the neighbour's
// kernel points its entry at the new MAC (a netlink event read in the
// neighbour's namespace).
func BenchmarkTakeoverToNeighbour(b *testing.B) {
	p := newPair(b)
	ctx := context.Background()
	p.mover.Schedule = neighbor.Schedule{Burst: 2} // as configured by default; repeats come later
	vip := addr("pub0", "198.51.100.1/32")
	nsB, err := netns.GetFromName(p.b.Name)
	if err != nil {
		b.Fatal(err)
	}
	defer nsB.Close()
	updates := make(chan netlink.NeighUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.NeighSubscribeWithOptions(updates, done, netlink.NeighSubscribeOptions{Namespace: &nsB}); err != nil {
		b.Fatal(err)
	}
	var acquire time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := p.mover.Give(ctx, vip); err != nil {
			b.Fatal(err)
		}
		p.poison(b, "198.51.100.1")
	drain:
		for {
			select {
			case <-updates:
			default:
				break drain
			}
		}
		b.StartTimer()
		start := time.Now()
		if err := p.mover.Take(ctx, vip); err != nil {
			b.Fatal(err)
		}
		acquire += time.Since(start)
		timeout := time.After(2 * time.Second)
	wait:
		for {
			select {
			case u := <-updates:
				if u.IP.String() == "198.51.100.1" && u.HardwareAddr.String() == p.macA {
					break wait
				}
			case <-timeout:
				b.Fatal("neighbour entry did not change")
			}
		}
	}
	b.ReportMetric(float64(acquire.Microseconds())/float64(b.N), "µs-take/op")
}
