package neighbor

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// The ARP filter, run in x/net/bpf's VM: it passes what names a watched
// address as its sender, whatever else the packet says, and nothing else.
func TestARPFilter(t *testing.T) {
	watched := []netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.7")}
	prog, err := arpFilter(watched)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	frame := func(op uint16, sender, target string) []byte {
		b, err := ARP{Op: op, SenderMAC: mac, SenderIP: netip.MustParseAddr(sender), TargetMAC: zeroMAC, TargetIP: netip.MustParseAddr(target)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	probe, _ := ARPProbe(mac, netip.MustParseAddr("198.51.100.1"))
	reply := frame(ARPReply, "198.51.100.1", "0.0.0.0")
	cases := []struct {
		name string
		b    []byte
		pass bool
	}{
		{"reply to a probe", reply, true},
		{"padded reply", append(slices.Clone(reply), make([]byte, 18)...), true},
		{"the second address's request", frame(ARPRequest, "198.51.100.7", "198.51.100.9"), true},
		{"gratuitous", frame(ARPRequest, "198.51.100.7", "198.51.100.7"), true},
		{"a probe for it", probe, false},
		{"another sender asking for it", frame(ARPRequest, "198.51.100.9", "198.51.100.1"), false},
		{"another sender", frame(ARPReply, "198.51.100.9", "0.0.0.0"), false},
		{"short", reply[:17], false},
		{"operation 3", append(append(slices.Clone(reply[:6]), 0, 3), reply[8:]...), false},
		{"not IPv4", append(append(slices.Clone(reply[:2]), 0x86, 0xdd), reply[4:]...), false},
		{"not Ethernet", append([]byte{0, 6}, reply[2:]...), false},
		{"other lengths", append(append(slices.Clone(reply[:4]), 6, 16), reply[6:]...), false},
	}
	for _, c := range cases {
		n, err := vm.Run(c.b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (n > 0) != c.pass {
			t.Errorf("%s: filter returned %d, want pass=%v", c.name, n, c.pass)
		}
	}
	if _, err := arpFilter(make([]netip.Addr, maxARPAddrs+1)); err == nil {
		t.Error("a filter with too many addresses was built")
	}
	// The largest filter still assembles: no jump overflows.
	many := make([]netip.Addr, maxARPAddrs)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
	}
	prog, _ = arpFilter(many)
	if vm, err = bpf.NewVM(prog); err != nil {
		t.Fatal(err)
	}
	for _, last := range []string{"203.0.113.199", "203.0.113.0"} {
		if n, _ := vm.Run(frame(ARPReply, last, "0.0.0.0")); n == 0 {
			t.Errorf("the %d-address filter drops %s", maxARPAddrs, last)
		}
	}
}

// asking is an asker running in one of a lab's namespaces, with the
// answers it reported.
type asking struct {
	asker *linkAsker
	ifi   *net.Interface // pub0 there
	mu    sync.Mutex
	got   []Answer
}

// startAsker opens an asker for addrs in ns and runs it until the test
// ends, when Close must make Run return nil.
func startAsker(t testing.TB, ns *lab.NS, addrs ...string) *asking {
	t.Helper()
	var ips []netip.Addr
	for _, a := range addrs {
		ips = append(ips, netip.MustParseAddr(a))
	}
	a := &asking{}
	err := ns.Do(func() error {
		var err error
		if a.ifi, err = net.InterfaceByName("pub0"); err != nil {
			return err
		}
		a.asker, err = newLinkAsker(ips, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- a.asker.Run(context.Background(), func(ans Answer) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.got = append(a.got, ans)
		})
	}()
	t.Cleanup(func() {
		a.asker.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run after Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return a
}

func (a *asking) ask(t testing.TB, ip string) time.Time {
	t.Helper()
	at := time.Now()
	if err := a.asker.Ask(a.ifi, netip.MustParseAddr(ip)); err != nil {
		t.Fatal(err)
	}
	return at
}

// answers returns the answers reported after the first skip.
func (a *asking) answers(skip int) []Answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.got[min(skip, len(a.got)):])
}

// waitFor waits up to 2 s for an answer after the first skip for ip from
// mac, and returns it and the number of answers up to and including it.
func (a *asking) waitFor(t testing.TB, skip int, ip, mac string) (Answer, int) {
	t.Helper()
	return a.waitWithin(t, 2*time.Second, skip, ip, mac)
}

// askUntil asks for ip every 50 ms, as failoverd asks, until mac answers
// (5 s at most): one question may go out before the link can carry its
// answer (an IPv6 link-local address is tentative for its first second).
func (a *asking) askUntil(t testing.TB, skip int, ip, mac string) (Answer, int) {
	t.Helper()
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			_ = a.asker.Ask(a.ifi, netip.MustParseAddr(ip))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return a.waitWithin(t, 5*time.Second, skip, ip, mac)
}

func (a *asking) waitWithin(t testing.TB, within time.Duration, skip int, ip, mac string) (Answer, int) {
	t.Helper()
	var found Answer
	var upTo int
	ok := lab.WaitFor(within, func() bool {
		for i, ans := range a.answers(skip) {
			if ans.Addr.String() == ip && ans.MAC.String() == mac {
				found, upTo = ans, skip+i+1
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no answer for %s from %s within %v; answers: %v", ip, mac, within, a.answers(skip))
	}
	return found, upTo
}

// announcer opens an Announcer in ns.
func announcer(t testing.TB, ns *lab.NS) Announcer {
	t.Helper()
	var an Announcer
	if err := ns.Do(func() (err error) { an, err = NewAnnouncer(); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { an.Close() })
	return an
}

func TestAskIPv4(t *testing.T) {
	p := lab.NewPair(t)
	s1MAC, clMAC := lab.MAC(t, p.S1, "pub0"), lab.MAC(t, p.Client, "eth0")
	const nobody = "198.51.100.50"
	a := startAsker(t, p.S2, lab.Server1Pub, nobody, lab.Server2Pub)

	// server1 answers the probe.
	a.ask(t, lab.Server1Pub)
	ans, seen := a.waitFor(t, 0, lab.Server1Pub, s1MAC)
	if ans.Interface != "pub0" || ans.At.IsZero() {
		t.Errorf("answer %+v, want one seen on pub0 with its time", ans)
	}

	// Nobody answers for an address nobody holds. The question for
	// server1's that follows is answered after any late answer would
	// have come.
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		a.ask(t, nobody)
	}
	a.ask(t, lab.Server1Pub)
	_, upTo := a.waitFor(t, seen, lab.Server1Pub, s1MAC)
	for _, ans := range a.answers(seen)[:upTo-seen] {
		if ans.Addr.String() == nobody {
			t.Errorf("an answer for %s, which nobody holds: %+v", nobody, ans)
		}
	}
	seen = upTo

	// server2's own address: its own probes and announcements are
	// outgoing (even one that names another MAC), and a frame from
	// elsewhere that names server2's MAC as its sender is this host's
	// too. The client's claim that follows is a real answer (another
	// MAC), and comes after those.
	for range 3 {
		a.ask(t, lab.Server2Pub)
	}
	s2 := announcer(t, p.S2)
	foreign := &net.Interface{Index: a.ifi.Index, Name: "pub0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 0x99}}
	for _, ifi := range []*net.Interface{a.ifi, foreign} {
		if err := s2.Announce(ifi, netip.MustParseAddr(lab.Server2Pub)); err != nil {
			t.Fatal(err)
		}
	}
	client := announcer(t, p.Client)
	var clientIfi *net.Interface
	if err := p.Client.Do(func() (err error) { clientIfi, err = net.InterfaceByName("eth0"); return err }); err != nil {
		t.Fatal(err)
	}
	spoof := &net.Interface{Index: clientIfi.Index, Name: "eth0", HardwareAddr: a.ifi.HardwareAddr}
	if err := client.Announce(spoof, netip.MustParseAddr(lab.Server2Pub)); err != nil {
		t.Fatal(err)
	}
	if err := client.Announce(clientIfi, netip.MustParseAddr(lab.Server2Pub)); err != nil {
		t.Fatal(err)
	}
	_, upTo = a.waitFor(t, seen, lab.Server2Pub, clMAC)
	for _, ans := range a.answers(seen)[:upTo-seen] {
		if ans.MAC.String() != clMAC {
			t.Errorf("server2 reported its own frame as an answer: %+v", ans)
		}
	}
	seen = upTo

	// server1's own gratuitous ARP, unasked, is an answer too.
	var s1Ifi *net.Interface
	if err := p.S1.Do(func() (err error) { s1Ifi, err = net.InterfaceByName("pub0"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := announcer(t, p.S1).Announce(s1Ifi, netip.MustParseAddr(lab.Server1Pub)); err != nil {
		t.Fatal(err)
	}
	a.waitFor(t, seen, lab.Server1Pub, s1MAC)
}

func TestAskIPv6(t *testing.T) {
	p := lab.NewPair(t)
	p.S1.MustRun("ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "pub0", "nodad")
	p.S2.MustRun("ip", "-6", "addr", "add", "2001:db8::2/64", "dev", "pub0", "nodad")
	a := startAsker(t, p.S2, "2001:db8::1", "2001:db8::2")
	ans, seen := a.askUntil(t, 0, "2001:db8::1", lab.MAC(t, p.S1, "pub0"))
	if ans.Interface != "pub0" {
		t.Errorf("answer seen on %q, want pub0", ans.Interface)
	}
	// server2's own advertisement is not multicast back to it, and its
	// kernel's answers to its own questions are never asked for; all
	// there may be are server1's.
	if err := announcer(t, p.S2).Announce(a.ifi, netip.MustParseAddr("2001:db8::2")); err != nil {
		t.Fatal(err)
	}
	a.ask(t, "2001:db8::2")
	a.ask(t, "2001:db8::1")
	_, upTo := a.waitFor(t, seen, "2001:db8::1", lab.MAC(t, p.S1, "pub0"))
	for _, ans := range a.answers(0)[:upTo] {
		if ans.Addr.String() != "2001:db8::1" {
			t.Errorf("an answer for an address only server2 holds: %+v", ans)
		}
	}
}

// AskAll asks each question on the interface it names, looked up once a
// second at most, and says which interface it could not find.
func TestAskAllAsksOnEachQuestionsInterface(t *testing.T) {
	p := lab.NewPair(t)
	s1MAC := lab.MAC(t, p.S1, "pub0")
	a := startAsker(t, p.S2, lab.Server1Pub)
	var lookups []string
	a.asker.ifis.lookup = func(name string) (*net.Interface, error) {
		lookups = append(lookups, name)
		if name != "pub0" {
			return nil, fmt.Errorf("interface %s: no such interface", name)
		}
		return a.ifi, nil
	}
	s1 := netip.MustParseAddr(lab.Server1Pub)
	qs := []Question{{Interface: "pub0", Addr: s1}, {Interface: "eth9", Addr: s1}}
	if n, err := a.asker.AskAll(qs); n != 1 || err == nil || !strings.Contains(err.Error(), "eth9") {
		t.Fatalf("AskAll asked %d, err %v; want 1, and an error naming eth9", n, err)
	}
	if n, err := a.asker.AskAll(qs[:1]); n != 1 || err != nil {
		t.Fatalf("AskAll asked %d, err %v; want 1", n, err)
	}
	if want := []string{"pub0", "eth9"}; !slices.Equal(lookups, want) {
		t.Errorf("looked up %q in two rounds within a second, want %q (a found interface once)", lookups, want)
	}
	a.waitFor(t, 0, lab.Server1Pub, s1MAC)
}

// Run ends with its context, and Ask names the family it cannot ask in.
func TestAskerRunEndsWithContext(t *testing.T) {
	ns := lab.New(t).Netns("a")
	var a *linkAsker
	if err := ns.Do(func() (err error) {
		a, err = newLinkAsker([]netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, func(Answer) {}) }()
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	lo := &net.Interface{Index: 1, Name: "lo", HardwareAddr: make(net.HardwareAddr, 6)}
	if err := a.Ask(lo, netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Error("an asker for IPv4 asked for an IPv6 address")
	}
}

// BenchmarkAskToAnswer measures the time from Ask to the Answer of
// server1's kernel, as the asker stamps it, in the lab: µs-min and
// µs-median (ns/op counts the test's polling for the answer as well).
func BenchmarkAskToAnswer(b *testing.B) {
	p := lab.NewPair(b)
	s1MAC := lab.MAC(b, p.S1, "pub0")
	a := startAsker(b, p.S2, lab.Server1Pub)
	var rtts []time.Duration
	for i := 0; b.Loop(); i++ {
		sent := a.ask(b, lab.Server1Pub)
		ans, _ := a.waitFor(b, i, lab.Server1Pub, s1MAC)
		rtts = append(rtts, ans.At.Sub(sent))
	}
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[0].Microseconds()), "µs-min")
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds()), "µs-median")
}

// Watch adds an address whose answers are heard: the primary's own
// public address, learnt from its heartbeats, answers nothing through an
// asker opened for another address until it is watched.
func TestWatchHearsANewAddress(t *testing.T) {
	p := lab.NewPair(t)
	s1MAC, clMAC := lab.MAC(t, p.S1, "pub0"), lab.MAC(t, p.Client, "eth0")
	a := startAsker(t, p.S2, lab.Server2Pub, lab.ClientAddr)
	// Unwatched: asked, never reported (the kernel filter drops it). The
	// client, watched, is asked after: once its answer is in, server1's
	// to the questions before would have been too.
	for range 5 {
		a.ask(t, lab.Server1Pub)
	}
	a.ask(t, lab.ClientAddr)
	_, upTo := a.waitFor(t, 0, lab.ClientAddr, clMAC)
	for _, ans := range a.answers(0)[:upTo] {
		if ans.Addr.String() == lab.Server1Pub {
			t.Fatalf("an answer for an address not watched: %+v", ans)
		}
	}
	if err := a.asker.Watch(netip.MustParseAddr(lab.Server1Pub)); err != nil {
		t.Fatal(err)
	}
	a.askUntil(t, upTo, lab.Server1Pub, s1MAC)
	if err := a.asker.Watch(netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Error("an IPv6 address was watched by an asker opened without IPv6")
	}
}

// Drain reports the answers waiting unread at once, as Run would, with
// no Run reading: a reader short of CPU must not let a live host's
// answer count as missing.
func TestDrainReportsWaitingAnswers(t *testing.T) {
	p := lab.NewPair(t)
	s1MAC := lab.MAC(t, p.S1, "pub0")
	var asker *linkAsker
	var ifi *net.Interface
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.S2.Do(func() error {
		var err error
		if ifi, err = net.InterfaceByName("pub0"); err != nil {
			return err
		}
		asker, err = newLinkAsker([]netip.Addr{netip.MustParseAddr(lab.Server1Pub)}, nil)
		return err
	}))
	defer asker.Close()
	var got []Answer
	var mu sync.Mutex
	r := &reporter{links: asker.links, listed: time.Now(), answer: func(a Answer) { mu.Lock(); got = append(got, a); mu.Unlock() }}
	must(r.list())
	asker.rep.Store(r) // as Run does, without Run
	asker.Drain()
	if len(got) != 0 {
		t.Fatalf("answers before anything was asked: %+v", got)
	}
	// Asked until an answer waits in the socket, unread; then one Drain
	// must report it.
	if !lab.WaitFor(3*time.Second, func() bool {
		must(asker.Ask(ifi, netip.MustParseAddr(lab.Server1Pub)))
		return lab.WaitFor(100*time.Millisecond, func() bool { return queued(t, asker) > 0 })
	}) {
		t.Fatal("no answer came back to the socket")
	}
	asker.Drain()
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("Drain reported no answer, with one waiting unread")
	}
	if a := got[0]; a.Addr.String() != lab.Server1Pub || a.MAC.String() != s1MAC || a.Interface != "pub0" {
		t.Fatalf("drained %+v, want %s from %s on pub0", a, lab.Server1Pub, s1MAC)
	}
}

// Drain returns at once while Run waits for a frame that does not come:
// it must not queue behind Run's read (the tick that decides would wait
// with it, and failoverd would stand still while the primary is gone).
func TestDrainDoesNotWaitForRun(t *testing.T) {
	p := lab.NewPair(t)
	a := startAsker(t, p.S2, lab.Server1Pub)
	time.Sleep(50 * time.Millisecond) // Run is reading, and nothing comes
	done := make(chan struct{})
	go func() { a.asker.Drain(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Drain waited behind Run's read")
	}
}

// queued is how many bytes wait unread in a's ARP socket.
func queued(t *testing.T, a *linkAsker) int {
	t.Helper()
	var n int
	var ioErr error
	if err := a.arpRC.Control(func(fd uintptr) { n, ioErr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil {
		t.Fatal(err)
	}
	if ioErr != nil {
		t.Fatal(ioErr)
	}
	return n
}
