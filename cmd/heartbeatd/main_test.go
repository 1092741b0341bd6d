package main

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// The test binary doubles as heartbeatd: run with IPFO_RUN_HEARTBEATD=1,
// it is the daemon, so the lab runs the code under test without a
// separate build.
func TestMain(m *testing.M) {
	if os.Getenv("IPFO_RUN_HEARTBEATD") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func self(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// startDaemon runs heartbeatd inside ns with args, and a lock socket of
// its own: tests run beside each other on one file system.
func startDaemon(t *testing.T, ns *lab.NS, args ...string) *lab.Daemon {
	t.Helper()
	return ns.Start("env", append([]string{"IPFO_RUN_HEARTBEATD=1", self(t), "--lock-socket", lockSocket(t)}, args...)...)
}

// lockSocket is a FAILOVER_LOCK_SOCKET for one test's heartbeatd.
func lockSocket(t *testing.T) string { return filepath.Join(t.TempDir(), "heartbeatd.sock") }

func runDaemon(t *testing.T, ns *lab.NS, args ...string) (string, int) {
	t.Helper()
	d := startDaemon(t, ns, args...)
	code := d.Wait(20 * time.Second)
	return d.Output(), code
}

func emptyConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// twoServers builds server1 and server2 joined by a private and a public
// veth link.
func twoServers(t *testing.T) (l *lab.Lab, s1, s2 *lab.NS) {
	l = lab.New(t)
	s1, s2 = l.Netns("s1"), l.Netns("s2")
	l.Veth(s1, "priv0", s2, "priv0")
	l.Veth(s1, "pub0", s2, "pub0")
	return l, s1, s2
}

// The classic mistake, both ways round: a target that is the broadcast
// address of a narrower subnet than the link's, and one of a wider subnet.
// -n must name the interface and the broadcast address to write instead,
// and exit 78.
func TestCheckModeNamesTheRightBroadcast(t *testing.T) {
	_, s1, _ := twoServers(t)
	s1.Addr("priv0", "192.0.2.1/24")
	s1.Addr("pub0", "198.51.100.1/25")
	out, code := runDaemon(t, s1, "-n", "--config", emptyConfig(t), "192.0.2.127", "198.51.100.255")
	if code != 78 {
		t.Errorf("exit %d, want 78\n%s", code, out)
	}
	for _, want := range []string{
		"FAILOVER_BCAST_IPS=\"192.0.2.127 198.51.100.255\"\t# command line (ip_addr arguments)",
		"warning command line (ip_addr arguments): FAILOVER_BCAST_IPS=192.0.2.127: 192.0.2.127 is the broadcast address of a /25, but the link priv0 (192.0.2.1/24) is a /24; its broadcast address is 192.0.2.255",
		"error   command line (ip_addr arguments): FAILOVER_BCAST_IPS=198.51.100.255: 198.51.100.255 is not the broadcast address of a subnet on any interface that is up; the closest is pub0 (198.51.100.1/25), whose broadcast address is 198.51.100.127",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, code = runDaemon(t, s1, "-n", "--config", emptyConfig(t), "192.0.2.255", "198.51.100.127")
	if code != 0 || !strings.Contains(out, "# configuration is usable") {
		t.Errorf("right addresses: exit %d\n%s", code, out)
	}
}

func TestConfigErrorExits78(t *testing.T) {
	// No root needed: this fails before any socket is opened.
	cfg := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(cfg, []byte("HOSTNAME=x\nFAILOVER_INTERVAL=fast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self(t), "--config", cfg, "192.0.2.255")
	cmd.Env = append(os.Environ(), "IPFO_RUN_HEARTBEATD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 78 {
		t.Fatalf("want exit 78, got %v\n%s", err, out)
	}
	if !strings.Contains(string(out), cfg+":2: FAILOVER_INTERVAL=fast: not a duration") {
		t.Fatalf("message does not name file, line and key:\n%s", out)
	}
}

// received is one heartbeat seen by the receiver, with the interface it
// arrived on.
type received struct {
	pkt     wire.Packet
	ifindex int
	src     netip.Addr
	at      time.Time
}

// receiver listens on port 1694 inside a namespace and keeps what it
// hears.
type receiver struct {
	conn *ipv4.PacketConn
	keys *wire.Keyring
	mu   sync.Mutex
	got  []received
	bad  []error
}

func listen(t *testing.T, ns *lab.NS, keys *wire.Keyring) *receiver {
	t.Helper()
	r := &receiver{keys: keys}
	err := ns.Do(func() error {
		c, err := net.ListenPacket("udp4", "0.0.0.0:1694")
		if err != nil {
			return err
		}
		r.conn = ipv4.NewPacketConn(c)
		return r.conn.SetControlMessage(ipv4.FlagInterface|ipv4.FlagSrc|ipv4.FlagDst, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.conn.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, cm, src, err := r.conn.ReadFrom(buf)
			if err != nil {
				return
			}
			p, perr := r.keys.Open(buf[:n])
			r.mu.Lock()
			if perr != nil {
				r.bad = append(r.bad, perr)
			} else {
				a, _ := netip.AddrFromSlice(src.(*net.UDPAddr).IP)
				r.got = append(r.got, received{pkt: p, ifindex: cm.IfIndex, src: a.Unmap(), at: time.Now()})
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *receiver) take() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

// byLink counts packets per interface name and checks their sources.
func byLink(t *testing.T, got []received, ifnames map[int]string, wantSrc map[string]string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, g := range got {
		name := ifnames[g.ifindex]
		n[name]++
		if g.src.String() != wantSrc[name] {
			t.Errorf("heartbeat on %s came from %s, want %s", name, g.src, wantSrc[name])
		}
	}
	return n
}

func ifIndexes(t *testing.T, ns *lab.NS) map[int]string {
	t.Helper()
	m := map[int]string{}
	err := ns.Do(func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			m[i.Index] = i.Name
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeKey(t *testing.T) (string, *wire.Keyring) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	secret := "lab secret, 32 bytes long......."
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := wire.NewKey([]byte(secret), "test")
	if err != nil {
		t.Fatal(err)
	}
	return p, wire.NewKeyring(k)
}

// poisonNeighbour makes server2 believe addr is at a wrong MAC. The lock
// time of dev is 0, so that a gratuitous ARP may override it at once.
func poisonNeighbour(t *testing.T, ns *lab.NS, dev, addr string) {
	t.Helper()
	ns.Sysctl("net.ipv4.neigh."+dev+".locktime", "0")
	ns.MustRun("ip", "neigh", "replace", addr, "lladdr", wrongMAC, "dev", dev, "nud", "stale")
}

const wrongMAC = "02:00:00:00:00:99"

// collect gathers what the receiver hears until enough holds of it all,
// for at most d, and returns it all.
func (r *receiver) collect(d time.Duration, enough func([]received) bool) []received {
	var got []received
	lab.WaitFor(d, func() bool { got = append(got, r.take()...); return enough(got) })
	return got
}

// sentAfter counts the packets per interface name that were sent after
// t (by the packets' own send time): what a link carried from then on,
// whatever was still queued from before.
func sentAfter(got []received, ifnames map[int]string, t time.Time) map[string]int {
	n := map[string]int{}
	for _, g := range got {
		if g.pkt.SentAt.After(t) {
			n[ifnames[g.ifindex]]++
		}
	}
	return n
}

// announceConfig writes a configuration in which heartbeatd announces in
// a burst only (no repeats a second apart), so that a test knows which
// announcement moved a neighbour entry.
func announceConfig(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ipfailover")
	conf := strings.Join(append([]string{"FAILOVER_ANNOUNCE_REPEATS=0"}, lines...), "\n") + "\n"
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitAnnounced waits until heartbeatd's log says it announced n
// addresses in all (each is logged once its burst is out).
func waitAnnounced(t *testing.T, d *lab.Daemon, n int) {
	t.Helper()
	if !lab.WaitFor(5*time.Second, func() bool { return strings.Count(d.Output(), "msg=re-announced") >= n }) {
		t.Fatalf("heartbeatd did not announce %d addresses:\n%s", n, d.Output())
	}
}

func TestHeartbeatsOnEveryLink(t *testing.T) {
	_, s1, s2 := twoServers(t)
	s1.Addr("priv0", "192.0.2.1/24")
	s1.Addr("pub0", "198.51.100.1/24")
	s2.Addr("priv0", "192.0.2.2/24")
	s2.Addr("pub0", "198.51.100.2/24")
	keyFile, keys := writeKey(t)
	rx := listen(t, s2, keys)
	names := ifIndexes(t, s2)
	wantSrc := map[string]string{"priv0": "192.0.2.1", "pub0": "198.51.100.1"}
	poisonNeighbour(t, s2, "pub0", "198.51.100.1")

	d := startDaemon(t, s1, "-d", "--config", announceConfig(t), "--interval", "50ms",
		"--auth-key-file", keyFile, "-m", "lab heartbeat", "192.0.2.255", "198.51.100.255")

	// Both links carry signed heartbeats from the link's own address.
	got := rx.collect(10*time.Second, func(g []received) bool {
		n := sentAfter(g, names, time.Time{})
		return n["priv0"] >= 5 && n["pub0"] >= 5
	})
	if n := byLink(t, got, names, wantSrc); n["priv0"] < 5 || n["pub0"] < 5 {
		t.Fatalf("heartbeats per link at 50ms: %v (want at least 5 on each)\n%s", n, d.Output())
	}
	for _, g := range got {
		if !g.pkt.Authenticated || g.pkt.Message != "lab heartbeat" || g.pkt.Interval != 50*time.Millisecond || g.pkt.Type != wire.Heartbeat {
			t.Fatalf("packet %+v", g.pkt)
		}
	}

	// Start-up re-announced the primary's addresses: server2's kernel
	// now holds server1's real MAC for its public address.
	wantMAC := lab.MAC(t, s1, "pub0")
	if !lab.WaitFor(3*time.Second, func() bool { return lab.Neighbour(s2, "pub0", "198.51.100.1") == wantMAC }) {
		t.Fatalf("server2's neighbour entry for 198.51.100.1 is %q, want %s after start-up announce", lab.Neighbour(s2, "pub0", "198.51.100.1"), wantMAC)
	}
	// And SIGHUP re-announces them again (start-up's burst is over, and
	// there are no repeats to do it instead).
	waitAnnounced(t, d, 2)
	poisonNeighbour(t, s2, "priv0", "192.0.2.1")
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wantMAC = lab.MAC(t, s1, "priv0")
	if !lab.WaitFor(3*time.Second, func() bool { return lab.Neighbour(s2, "priv0", "192.0.2.1") == wantMAC }) {
		t.Fatalf("after SIGHUP server2's entry for 192.0.2.1 is %q, want %s", lab.Neighbour(s2, "priv0", "192.0.2.1"), wantMAC)
	}

	// Cable out on the public link (the far end goes down, so server1's
	// pub0 loses carrier while sends still "succeed"): the private link
	// keeps beating, and the failure is logged once.
	s2.MustRun("ip", "link", "set", "pub0", "down")
	cut := time.Now() // nothing sent from here on can arrive on pub0
	got = rx.collect(10*time.Second, func(g []received) bool { return sentAfter(g, names, cut)["priv0"] >= 5 })
	if n := sentAfter(got, names, cut); n["priv0"] < 5 || n["pub0"] != 0 {
		t.Fatalf("with pub0 down: %v, want priv0 only", n)
	}
	if !lab.WaitFor(2*time.Second, func() bool { return strings.Contains(d.Output(), "pub0 has no carrier") }) {
		t.Fatalf("lost carrier not logged:\n%s", d.Output())
	}
	// Admin-down on the sender's side too; still one message per outage,
	// after the sender has looked at its interfaces again (once a
	// second): beats sent more than a second later are the proof.
	s1.MustRun("ip", "link", "set", "pub0", "down")
	down := time.Now()
	got = rx.collect(10*time.Second, func(g []received) bool { return sentAfter(g, names, down.Add(1100*time.Millisecond))["priv0"] > 0 })
	if n := sentAfter(got, names, down); n["priv0"] < 5 || n["pub0"] != 0 {
		t.Fatalf("with pub0 down on both sides: %v, want priv0 only", n)
	}
	if c := strings.Count(d.Output(), "heartbeat send failed"); c != 1 {
		t.Fatalf("send failure logged %d times, want once:\n%s", c, d.Output())
	}
	s1.MustRun("ip", "link", "set", "pub0", "up")
	s2.MustRun("ip", "link", "set", "pub0", "up")
	if !lab.WaitFor(3*time.Second, func() bool { return byLink(t, rx.take(), names, wantSrc)["pub0"] > 0 }) {
		t.Fatalf("pub0 back up, but no heartbeat on it:\n%s", d.Output())
	}
	// The heartbeat may reach the kernel before the interface is marked
	// running again (it follows the carrier late): the recovery is
	// logged once the sender sees the flag.
	if !lab.WaitFor(3*time.Second, func() bool { return strings.Contains(d.Output(), "heartbeat send works again") }) {
		t.Errorf("recovery not logged:\n%s", d.Output())
	}

	// SIGTERM: goodbye on both links, exit 0.
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.Wait(5 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, d.Output())
	}
	bye := map[string]bool{}
	rx.collect(2*time.Second, func(g []received) bool {
		for _, p := range g {
			if p.pkt.Type == wire.Goodbye {
				bye[names[p.ifindex]] = true
			}
		}
		return bye["priv0"] && bye["pub0"]
	})
	if !bye["priv0"] || !bye["pub0"] {
		t.Fatalf("goodbye seen on %v, want priv0 and pub0", bye)
	}
	rx.mu.Lock()
	defer rx.mu.Unlock()
	if len(rx.bad) > 0 {
		t.Fatalf("receiver rejected packets: %v", rx.bad)
	}
}

// Under systemd (Type=notify): READY once the socket is open, watchdog
// pings while it runs, STOPPING on SIGTERM. Heartbeats go to a link in
// a lab namespace (a loopback target is a configuration error).
func TestSystemdNotify(t *testing.T) {
	_, s1, _ := twoServers(t)
	s1.Addr("priv0", "192.0.2.1/24")
	dir := t.TempDir()
	sockPath := filepath.Join(dir, "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := sock.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	d := s1.Start("env", "IPFO_RUN_HEARTBEATD=1", "NOTIFY_SOCKET="+sockPath, "WATCHDOG_USEC=300000",
		self(t), "--config", emptyConfig(t), "--lock-socket", lockSocket(t), "--interval", "20ms", "192.0.2.255")
	next := func(want string) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case m := <-msgs:
				if strings.Contains(m, want) {
					return
				}
			case <-timeout:
				t.Fatalf("no %s from heartbeatd\n%s", want, d.Output())
			}
		}
	}
	next("READY=1")
	next("WATCHDOG=1")
	next("WATCHDOG=1")
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("STOPPING=1")
	if code := d.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, d.Output())
	}
}

// Unicast targets leave on the link whose subnet holds them, from that
// link's address, even when the routing table would send them elsewhere:
// a host route sends 198.51.100.2 over priv0, yet its heartbeats must
// cross pub0.
func TestUnicastTargetsKeepToTheirLink(t *testing.T) {
	_, s1, s2 := twoServers(t)
	s1.Addr("priv0", "192.0.2.1/24")
	s1.Addr("pub0", "198.51.100.1/24")
	s2.Addr("priv0", "192.0.2.2/24")
	s2.Addr("pub0", "198.51.100.2/24")
	s1.MustRun("ip", "route", "add", "198.51.100.2/32", "dev", "priv0")
	rx := listen(t, s2, wire.NewKeyring())
	names := ifIndexes(t, s2)
	d := startDaemon(t, s1, "--config", emptyConfig(t), "--interval", "50ms", "192.0.2.2", "198.51.100.2")
	// Sent by the routing table, pub0's target would go over priv0: pub0
	// would never get its five, and priv0 would get twice its share.
	got := rx.collect(10*time.Second, func(g []received) bool {
		n := sentAfter(g, names, time.Time{})
		return n["priv0"] >= 5 && n["pub0"] >= 5
	})
	n := byLink(t, got, names, map[string]string{"priv0": "192.0.2.1", "pub0": "198.51.100.1"})
	if n["priv0"] < 5 || n["pub0"] < 5 || n["priv0"] > n["pub0"]+2 {
		t.Fatalf("heartbeats per link %v: each target must get its own link's share\n%s", n, d.Output())
	}
}

// failoverd's `released` message makes heartbeatd re-announce its
// addresses at once; an unsigned one is dropped when a key is set, and so
// is a replay of one already acted on.
func TestReleasedReannounces(t *testing.T) {
	_, s1, s2 := twoServers(t)
	s1.Addr("priv0", "192.0.2.1/24")
	s1.Addr("pub0", "198.51.100.1/24")
	s1.MustRun("ip", "addr", "add", "198.51.100.10/32", "dev", "pub0") // a second public address
	s2.Addr("priv0", "192.0.2.2/24")
	s2.Addr("pub0", "198.51.100.2/24")
	keyFile, keys := writeKey(t)
	cfg := announceConfig(t, `FAILOVER_BCAST_IPS="192.0.2.255 198.51.100.255"`, "FAILOVER_AUTH_KEY_FILE="+keyFile)
	d := startDaemon(t, s1, "-d", "--config", cfg)
	waitAnnounced(t, d, 3) // start-up: 192.0.2.1, 198.51.100.1, 198.51.100.10
	poison := func() {
		for _, a := range []string{"198.51.100.1", "198.51.100.10"} {
			poisonNeighbour(t, s2, "pub0", a)
		}
	}
	poison()

	var conn net.PacketConn
	if err := s2.Do(func() (err error) { conn, err = net.ListenPacket("udp4", "192.0.2.2:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(b []byte) {
		t.Helper()
		if _, err := conn.WriteTo(b, &net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1694}); err != nil {
			t.Fatal(err)
		}
	}
	released := func(kr *wire.Keyring, seq uint64) []byte {
		t.Helper()
		p := wire.Packet{Type: wire.Released, Sender: "server2", Epoch: 7, Seq: seq, Interval: time.Second, SentAt: time.Now()}
		b, err := kr.Seal(&p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// waitDrop waits for heartbeatd to log a drop for reason (each reason
	// is logged the first time), so the test knows the packet was read.
	waitDrop := func(reason wire.DropReason) {
		t.Helper()
		if !lab.WaitFor(3*time.Second, func() bool { return strings.Contains(d.Output(), "reason="+string(reason)) }) {
			t.Fatalf("no drop for %s logged:\n%s", reason, d.Output())
		}
	}
	const heard = "the secondary released the addresses"

	send(released(wire.NewKeyring(), 1)) // unsigned
	waitDrop(wire.DropBadTag)
	if strings.Contains(d.Output(), heard) {
		t.Fatalf("an unsigned released packet was acted on:\n%s", d.Output())
	}
	if got := lab.Neighbour(s2, "pub0", "198.51.100.1"); got != wrongMAC {
		t.Fatalf("an unsigned released packet re-announced (entry %q)", got)
	}

	sent := time.Now()
	signed := released(keys, 2)
	send(signed)
	wantMAC := lab.MAC(t, s1, "pub0")
	if !lab.WaitFor(time.Second, func() bool { return lab.Neighbour(s2, "pub0", "198.51.100.1") == wantMAC }) {
		t.Fatalf("after released, server2's entry is %q, want %s\n%s", lab.Neighbour(s2, "pub0", "198.51.100.1"), wantMAC, d.Output())
	}
	acted := time.Now() // heartbeatd took the packet in before this
	t.Logf("re-announced %v after released was sent", acted.Sub(sent).Round(time.Millisecond))
	if !lab.WaitFor(time.Second, func() bool { return lab.Neighbour(s2, "pub0", "198.51.100.10") == wantMAC }) {
		t.Errorf("the link's second address was not re-announced: %q", lab.Neighbour(s2, "pub0", "198.51.100.10"))
	}
	if strings.Count(d.Output(), heard) != 1 {
		t.Errorf("released not logged once:\n%s", d.Output())
	}

	// The same packet again, as someone on the private link could replay
	// it: dropped, no second re-announce. It goes more than a second after
	// the first was acted on, so heartbeatd's one-a-second limit (which
	// would hide a missing replay guard) does not cover it.
	waitAnnounced(t, d, 3+3)
	poison()
	time.Sleep(time.Until(acted.Add(1100 * time.Millisecond)))
	send(signed)
	replay := "reason=" + string(wire.DropReplay)
	lab.WaitFor(3*time.Second, func() bool { out := d.Output(); return strings.Contains(out, replay) || strings.Count(out, heard) > 1 })
	if n := strings.Count(d.Output(), heard); n != 1 {
		t.Fatalf("a replayed released packet was acted on (%d re-announces):\n%s", n, d.Output())
	}
	waitDrop(wire.DropReplay)
	if got := lab.Neighbour(s2, "pub0", "198.51.100.1"); got != wrongMAC {
		t.Fatalf("a replayed released packet re-announced (entry %q)", got)
	}
}

// heartbeatd -n refuses a key file in a folder another user could write
// to (they could put a key of theirs in its place) and, as root, one
// that another user owns (they can read it): exit 78 with the file, line
// and key. Not a namespace: it fails in loading.
func TestCheckModeRefusesUnsafeKeyFiles(t *testing.T) {
	keyFile, _ := writeKey(t)
	cfg := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(cfg, []byte("FAILOVER_AUTH_KEY_FILE="+keyFile+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(want ...string) {
		t.Helper()
		cmd := exec.Command(self(t), "-n", "--config", cfg, "192.0.2.255")
		cmd.Env = append(os.Environ(), "IPFO_RUN_HEARTBEATD=1")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 78 {
			t.Errorf("want exit 78, got %v\n%s", err, out)
		}
		for _, w := range append(want, cfg+":1: FAILOVER_AUTH_KEY_FILE: refusing ") {
			if !strings.Contains(string(out), w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	dir := filepath.Dir(keyFile)
	if err := os.Chmod(dir, 0o775); err != nil {
		t.Fatal(err)
	}
	check("refusing "+dir+" (on the path to "+keyFile+"): writable by group", "fix: chmod go-w "+dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped the rest: only root can give a file to another user")
	}
	if err := os.Chown(keyFile, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	check("refusing "+keyFile+": owned by uid 65534, not root", "fix: chown root "+keyFile)
}

// heartbeatd -n refuses a configuration file in a folder that another
// user could write to (they could put a file of theirs in its place) and,
// as root, one that another user owns: exit 78, the file and the fix.
// Not a namespace: it fails in loading.
func TestCheckModeRefusesAConfigFileOthersMayChange(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ipfailover")
	if err := os.WriteFile(cfg, []byte("FAILOVER_BCAST_IPS=192.0.2.255\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(want ...string) {
		t.Helper()
		cmd := exec.Command(self(t), "-n", "--config", cfg)
		cmd.Env = append(os.Environ(), "IPFO_RUN_HEARTBEATD=1")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 78 {
			t.Errorf("want exit 78, got %v\n%s", err, out)
		}
		for _, w := range append(want, "heartbeatd: configuration file: refusing ") {
			if !strings.Contains(string(out), w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	if err := os.Chmod(dir, 0o775); err != nil {
		t.Fatal(err)
	}
	check("refusing "+dir+" (on the path to "+cfg+"): writable by group", "fix: chmod go-w "+dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped the rest: only root can give a file to another user")
	}
	if err := os.Chown(cfg, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	check("refusing "+cfg+": owned by uid 65534, not root", "fix: chown root "+cfg)
}

// A SIGHUP that finds the configuration file writable by others keeps the
// running configuration and logs the file and the fix; once fixed, the
// next SIGHUP reloads it.
func TestReloadRefusesAConfigFileOthersMayWrite(t *testing.T) {
	_, s1, _ := twoServers(t)
	s1.Addr("priv0", "192.0.2.1/24")
	cfg := emptyConfig(t)
	d := startDaemon(t, s1, "--config", cfg, "--interval", "50ms", "192.0.2.255")
	logged := func(what string, want ...string) {
		t.Helper()
		if !lab.WaitFor(5*time.Second, func() bool {
			for _, w := range want {
				if !strings.Contains(d.Output(), w) {
					return false
				}
			}
			return true
		}) {
			t.Fatalf("%s: the log lacks %q:\n%s", what, want, d.Output())
		}
	}
	logged("start", "heartbeatd started")

	if err := os.Chmod(cfg, 0o646); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logged("SIGHUP with the file writable by others", "reload refused; keeping the running configuration",
		"configuration file: refusing "+cfg+": writable by others", "fix: chmod go-w "+cfg)
	if strings.Contains(d.Output(), "configuration reloaded") {
		t.Fatalf("reloaded a file others may write:\n%s", d.Output())
	}

	if err := os.Chmod(cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logged("SIGHUP with the file fixed", "configuration reloaded")
}

// heartbeatd, started or with -n, refuses a lock socket in a folder
// another user could write to (they could listen there first, or remove
// the socket so that a second heartbeatd starts): exit 78 with the key,
// the folder and the fix, before it sends anything.
func TestALockSocketInAFolderOthersMayWriteToIsRefused(t *testing.T) {
	_, s1, _ := twoServers(t)
	s1.Addr("priv0", "192.0.2.1/24")
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil { // as /tmp
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "heartbeatd.sock")
	for _, args := range [][]string{{"-n"}, {}} {
		// The later --lock-socket wins over runDaemon's own.
		out, code := runDaemon(t, s1, append(args, "--config", emptyConfig(t), "--lock-socket", sock, "192.0.2.255")...)
		if code != 78 {
			t.Errorf("%q: exit %d, want 78\n%s", args, code, out)
		}
		for _, w := range []string{"command line (--lock-socket): FAILOVER_LOCK_SOCKET=", ": refusing " + dir + ": writable by group and others",
			"fix: move the socket to a folder only root can write to"} {
			if !strings.Contains(out, w) {
				t.Errorf("%q: output lacks %q:\n%s", args, w, out)
			}
		}
		if _, err := os.Lstat(sock); err == nil {
			t.Errorf("%q: the socket was made", args)
		}
	}
}
