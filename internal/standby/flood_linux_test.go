package standby

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// floodLab is two hosts joined by two links, priv0 (192.0.2.0/24) and
// pub0 (198.51.100.0/24): server3 in s1 announces itself, server2 in s2
// hears it. The junk goes from s1 to server2's own address on pub0.
type floodLab struct {
	s1, s2 *lab.NS
	me     *Conn // server2's, in s2
	other  *Conn // server3's, in s1
	kr     *wire.Keyring

	mu    sync.Mutex
	heard map[heardKey]int // server3's announcements heard
}

type heardKey struct {
	priority int
	link     string
}

// newFloodLab builds the lab; extra are more links of server2's, after
// priv0 and pub0.
func newFloodLab(t *testing.T, extra ...string) *floodLab {
	t.Helper()
	l := lab.New(t)
	f := &floodLab{s1: l.Netns("s1"), s2: l.Netns("s2"), kr: keyring(t), heard: map[heardKey]int{}}
	l.Veth(f.s1, "priv0", f.s2, "priv0")
	l.Veth(f.s1, "pub0", f.s2, "pub0")
	f.s1.Addr("priv0", "192.0.2.1/24")
	f.s1.Addr("pub0", "198.51.100.1/24")
	f.s2.Addr("priv0", "192.0.2.2/24")
	f.s2.Addr("pub0", "198.51.100.2/24")
	listen := func(ns *lab.NS, name string, extra ...string) *Conn {
		t.Helper()
		var c *Conn
		err := ns.Do(func() (err error) {
			c, err = Listen(Config{Port: DefaultPort, Links: append([]string{"priv0", "pub0"}, extra...), Name: name, Addresses: theirs,
				Keys: func() *wire.Keyring { return f.kr }, Freshness: 30 * time.Second}, slog.New(slog.DiscardHandler))
			return err
		})
		if err != nil {
			t.Fatalf("Listen in %s: %v", ns.Name, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	f.me, f.other = listen(f.s2, "server2", extra...), listen(f.s1, "server3")
	return f
}

// run reads server2's port until the test ends, in s2 (where the name
// of an interface is looked up).
func (f *floodLab) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- f.s2.Do(func() error {
			return f.me.Run(ctx, func(p Peer) {
				if p.Name == "server3" {
					f.mu.Lock()
					f.heard[heardKey{p.Priority, p.Link}]++
					f.mu.Unlock()
				}
			})
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func (f *floodLab) count(priority int, link string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.heard[heardKey{priority, link}]
}

// self is server3's announcement; each test phase says its own priority,
// to be counted apart.
func self(priority int) Self {
	return Self{Name: "server3", Priority: priority, Eligible: true, Addresses: theirs}
}

// announce has server3 announce itself on both links, as failoverd does.
func (f *floodLab) announce(t *testing.T, priority int, interval time.Duration) {
	t.Helper()
	var sent int
	err := f.s1.Do(func() (err error) { sent, err = f.other.Announce(self(priority), interval, time.Now()); return err })
	if err != nil || sent != 2 {
		t.Fatalf("Announce: sent to %d broadcast addresses, %v; want 2", sent, err)
	}
}

// junk is announcements of another standby with the key's id and a
// wrong tag: each costs the receiver a tag check before it drops it.
func (f *floodLab) junk(t *testing.T) [][]byte {
	var out [][]byte
	for i := range 256 {
		p := wire.Packet{Type: wire.Standby, Sender: "server9", Epoch: 9, Seq: uint64(i + 1), Interval: time.Second, SentAt: time.Now(),
			Message: Self{Priority: 250, Holding: true, Eligible: true, Addresses: theirs}.Message()}
		b, err := f.kr.Seal(&p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 0xff
		out = append(out, b)
	}
	return out
}

// The junk goes from s1 to server2's standby port on pub0.
const junkFrom, junkTo = "198.51.100.1:40000", "198.51.100.2:1695"

// kernelDrops counts the packets the kernel dropped in the lab before a
// program saw them, so far: on each link (s1's end of the veth counts
// what it could not hand to s2's, whose backlog, the CPU's, was full),
// and in s2 at a full socket queue.
func (f *floodLab) kernelDrops(t *testing.T) (links map[string]uint64, queue uint64) {
	t.Helper()
	links = map[string]uint64{}
	for _, dev := range []string{"priv0", "pub0"} {
		var st []struct {
			Stats64 struct {
				TX struct {
					Dropped uint64 `json:"dropped"`
				} `json:"tx"`
			} `json:"stats64"`
		}
		if err := json.Unmarshal([]byte(f.s1.MustRun("ip", "-j", "-s", "link", "show", "dev", dev)), &st); err != nil || len(st) != 1 {
			t.Fatalf("ip -s link show %s in %s: %v", dev, f.s1.Name, err)
		}
		links[dev] = st[0].Stats64.TX.Dropped
	}
	// /proc/net/snmp's Udp lines: the names, then the values.
	var names []string
	for _, line := range strings.Split(f.s2.MustRun("cat", "/proc/net/snmp"), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i, v := range fields {
			if i < len(names) && names[i] == "RcvbufErrors" {
				queue, _ = strconv.ParseUint(v, 10, 64)
			}
		}
	}
	return links, queue
}

// The flood of TestJunkOnOneLinkCostsTheOtherNoAnnouncement: at most
// floodPackets junk packets, for at most floodTime, about 250 000 a
// second here; and one announcement every announceEvery meanwhile.
const (
	floodPackets  = 400_000
	floodTime     = 3 * time.Second
	announceEvery = 10 * time.Millisecond
)

// Junk with the key's id on one link's standby port (each costs the
// receiver a tag check) must cost the other link no announcement of
// another standby. With one socket for every link, with the default
// buffer, the junk filled the one queue and 42 to 50 % of the
// announcements were lost on both links alike: without an arbiter, two
// standbys could then both take the addresses. What the flood costs its
// own link is logged: none, or one late, here; with the race detector,
// whose reader is slower than the flood, most of them (the burst test
// below shows what the link's buffer holds).
func TestJunkOnOneLinkCostsTheOtherNoAnnouncement(t *testing.T) {
	f := newFloodLab(t)
	f.run(t)
	// Both links carry announcements before the flood.
	if !lab.WaitFor(5*time.Second, func() bool {
		f.announce(t, 200, announceEvery)
		return f.count(200, "priv0") > 0 && f.count(200, "pub0") > 0
	}) {
		t.Fatalf("before the flood, heard priv0 %d, pub0 %d; want some on each (stats %+v)", f.count(200, "priv0"), f.count(200, "pub0"), f.me.Stats())
	}
	linksBefore, queueBefore := f.kernelDrops(t)

	flooded := make(chan lab.Flood, 1)
	go func() {
		fl, err := lab.SendPackets(f.s1, junkFrom, junkTo, f.junk(t), floodTime, floodPackets)
		if err != nil {
			t.Errorf("flood: %v", err)
		}
		flooded <- fl
	}()
	sent := 0
	var fl lab.Flood
	for tick := time.NewTicker(announceEvery); fl.Packets == 0; {
		select {
		case fl = <-flooded:
			tick.Stop()
		case <-tick.C:
			f.announce(t, 201, announceEvery)
			sent++
		}
	}
	// Read all that will be: every announcement, or all that is queued
	// (the counters stand still for a second).
	total := func() (n uint64) {
		st := f.me.Stats()
		for _, d := range st.Dropped {
			n += d
		}
		return n + st.Received
	}
	last, still := total(), time.Now()
	lab.WaitFor(20*time.Second, func() bool {
		if f.count(201, "priv0") == sent && f.count(201, "pub0") == sent {
			return true
		}
		if now := total(); now != last {
			last, still = now, time.Now()
		}
		return time.Since(still) >= time.Second
	})
	linksAfter, queueAfter := f.kernelDrops(t)
	st := f.me.Stats()
	priv, pub := f.count(201, "priv0"), f.count(201, "pub0")
	lost := func(n int) float64 { return 100 * float64(sent-n) / float64(sent) }
	t.Logf("junk on pub0: %v; counted as bad tags: %d; lost at a full socket queue in s2: %d; dropped by the links: priv0 %d, pub0 %d",
		fl, st.Dropped[wire.DropBadTag], queueAfter-queueBefore, linksAfter["priv0"]-linksBefore["priv0"], linksAfter["pub0"]-linksBefore["pub0"])
	// A copy on pub0 read more than the replay guard's spread (50 ms
	// here) after its copy on priv0 is refused as a replay: late.
	t.Logf("announcements sent on each link: %d; heard on priv0 %d (%.1f %% lost), on pub0 %d (%.1f %% lost); drops %v",
		sent, priv, lost(priv), pub, lost(pub), st.Dropped)

	// priv0 loses nothing the kernel did not drop before any socket:
	// a veth's backlog is the CPU's, shared by both links.
	if spared := int(linksAfter["priv0"] - linksBefore["priv0"]); priv < sent-spared {
		t.Errorf("the junk on pub0 cost priv0 %d of %d announcements (%d dropped by the link itself)", sent-priv, sent, spared)
	}
	// Every junk packet that reached the socket is counted.
	if bad, lostInKernel := st.Dropped[wire.DropBadTag], (queueAfter-queueBefore)+(linksAfter["pub0"]-linksBefore["pub0"]); bad > fl.Packets || bad+lostInKernel < fl.Packets {
		t.Errorf("%d junk packets sent, %d counted as bad tags, %d lost in the kernel", fl.Packets, bad, lostInKernel)
	}
}

// A burst: burstAnnouncements of server3's announcements on pub0, each
// behind burstStep junk packets. The link's receive buffer holds it
// (about 10 000 such packets fit its 4 MiB); the default buffer (208 KiB:
// 256 of them) does not.
const (
	burstAnnouncements = 10
	burstStep          = 300
)

// A burst of junk that arrives while nothing reads (failoverd busy, the
// machine short of CPU) waits in its link's own buffer, with the
// announcements among it, which are all read once the reader catches
// up.
func TestABurstOfJunkIsAbsorbedByTheLinksBuffer(t *testing.T) {
	f := newFloodLab(t)
	junk := f.junk(t)
	for i := range burstAnnouncements {
		fl, err := lab.SendPackets(f.s1, junkFrom, junkTo, junk, 10*time.Second, burstStep)
		if err != nil || fl.Packets != burstStep {
			t.Fatalf("burst: %v, %v; want %d packets", fl, err, burstStep)
		}
		// server3's announcement, to server2's own address on pub0, as
		// failoverd's would say itself at the default interval.
		b, err := f.other.Sealed(self(202), time.Second, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		err = f.s1.Do(func() error {
			c, err := net.Dial("udp4", junkTo)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write(b)
			return err
		})
		if err != nil {
			t.Fatalf("announcement %d: %v", i, err)
		}
	}
	_, queue := f.kernelDrops(t)
	f.run(t)
	if !lab.WaitFor(10*time.Second, func() bool { return f.count(202, "pub0") == burstAnnouncements }) {
		t.Fatalf("of %d announcements among %d junk packets on pub0, %d were heard (%d packets lost at a full socket queue); stats %+v",
			burstAnnouncements, burstAnnouncements*burstStep, f.count(202, "pub0"), queue, f.me.Stats())
	}
	if queue != 0 {
		t.Errorf("%d packets lost at a full socket queue: the buffer did not hold the burst", queue)
	}
}

// While a link's interface is missing, a socket for every other
// interface shares the port; a broadcast on a link with a socket of its
// own reaches that one too, and must still be heard once on each link,
// not dropped as a replay or a packet of no link.
func TestAnnouncementsAreHeardOnceWhileALinkIsMissing(t *testing.T) {
	f := newFloodLab(t, "nosuch0")
	f.run(t)
	const n = 3
	for range n {
		f.announce(t, 203, time.Second)
	}
	if !lab.WaitFor(5*time.Second, func() bool { return f.count(203, "priv0") == n && f.count(203, "pub0") == n }) {
		t.Fatalf("heard priv0 %d, pub0 %d of %d announcements; stats %+v", f.count(203, "priv0"), f.count(203, "pub0"), n, f.me.Stats())
	}
	if !lab.Stays(300*time.Millisecond, func() bool { st := f.me.Stats(); return st.Received == 2*n && len(st.Dropped) == 0 }) {
		t.Fatalf("an announcement came twice: stats %+v", f.me.Stats())
	}
}
