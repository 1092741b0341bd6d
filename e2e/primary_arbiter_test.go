package e2e

import (
	"bufio"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// The primary a client of the arbiter: heartbeatd keeps a lease as the
// primary and holds the key of the address a standby would take (its
// host address, or its service address).

// logTime is when a daemon's log first said what, at or after since (its
// records carry their time to the millisecond); zero if it did not.
func logTime(out, what string, since time.Time) time.Time {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, what) || !strings.HasPrefix(l, "time=") {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, strings.Fields(l)[0][len("time="):])
		if err == nil && !at.Before(since.Truncate(time.Millisecond)) {
			return at
		}
	}
	return time.Time{}
}

// The standby cut from the primary on both heartbeat links (the nemesis
// cuts the two apart; both still reach the client and etcd): it hears no
// heartbeat and nobody answers it for the address, yet it takes nothing
// while the primary renews its lease and holds the address's key, and
// says the links are cut; the client hears the primary alone. The
// primary's power goes then: the standby takes the address once the
// primary's lease expired, within the TTL and a reaction.
func TestArbiterNoTakeoverWhileThePrimaryRenews(t *testing.T) {
	c := arbiterWorldWith(t, arbiterOptions{lost: "keep", lease: ttl}, 100)
	s2 := c.standbys[0]
	c.startAll()
	s2.waitKey("s1", 2*time.Second)
	mac1 := c.macOf(c.Primary)

	start := time.Now()
	c.Cut([]*lab.Host{c.Primary}, []*lab.Host{s2.host})
	if early := s2.noticedAt("the heartbeat links are cut", time.Time{}); !early.IsZero() {
		t.Errorf("a links-cut notice before the links were cut, at %s:\n%s", early.Format("15:04:05.000"), s2.notices())
	}
	var cut time.Time
	// Once its liveness key has outlived a TTL of silence (and etcd's
	// second to revoke an expired lease's keys).
	if !lab.WaitFor(ttl+time.Second+slack, func() bool { cut = s2.noticedAt("the heartbeat links are cut", start); return !cut.IsZero() }) {
		t.Fatalf("no notice that the links are cut: %v", s2.noticeKinds())
	}
	t.Logf("links-cut notice %v after the cut", ms(cut.Sub(start)))
	if !lab.Stays(3*ttl, func() bool { return !c.holds(s2.host) && s2.state() == "standby" }) {
		t.Fatalf("s2 took the address (state %s) while the primary renews its lease", s2.state())
	}
	if y := s2.status().Yielding; y == nil || !y.Arbiter || y.To != "s1" {
		t.Errorf("s2 yields to %+v, want the arbiter naming s1", y)
	}
	if owners := c.aw.Owners(start, time.Now()); !slices.Equal(owners, []string{mac1}) {
		t.Errorf("the client heard %v answer, want the primary's %s alone", owners, mac1)
	}
	if runs := s2.tests(); len(runs) != 0 {
		t.Errorf("s2 ran its Test while the primary renews: %q", runs)
	}

	off := time.Now()
	c.powerOff(c.Primary, c.primary)
	s2.waitState("active", ttl+timeout+slack)
	c.waitAnswerFrom(s2.host, 2*time.Second)
	took := c.answeredBy(s2.host, off)
	t.Logf("the primary's power off, still cut from s2: the client answered by s2 %v after it (TTL %v)", ms(took), ttl)
	if took > ttl+slack {
		t.Errorf("taken over %v after the power went: more than the TTL %v and %v", took, ttl, slack)
	}
	c.noDual(start)
}

// The primary cut from everyone (the client, the standby, every etcd
// member) with its service address up: it cannot renew its lease and
// removes the address at its deadline; the standby, hearing nothing and
// nobody answering, adds it only once the primary's lease expired on the
// server and it claimed the key. The primary's kernel lost the address
// before the standby's gained it (ip monitor in both, and the daemons'
// logs say so too), no round was answered by two MACs. Healed, the
// address goes back to the primary the same way round.
func TestArbiterCutPrimaryLetsGoBeforeTheStandbyTakes(t *testing.T) {
	c := arbiterWorld(t, "keep", 100)
	s2 := c.standbys[0]
	c.startAll()
	s2.waitKey("s1", 2*time.Second)

	start := time.Now()
	c.Isolate(c.Primary)
	s2.waitState("active", 2*ttl+slack)
	c.waitAnswerFrom(s2.host, 2*time.Second)
	removed, added := c.addrs[c.Primary].firstDelete(start), c.addrs[s2.host].firstAdd(start)
	if removed.IsZero() || added.IsZero() {
		t.Fatalf("the primary's kernel removed the address at %v, s2's added it at %v", removed, added)
	}
	t.Logf("primary cut off: its kernel removed the address %v after the cut, s2's added it %v after, %v later; the client answered by s2 %v after the cut",
		ms(removed.Sub(start)), ms(added.Sub(start)), ms(added.Sub(removed)), ms(c.answeredBy(s2.host, start)))
	if !removed.Before(added) {
		t.Errorf("s2 added the address (%s) before the cut-off primary removed it (%s)", added.Format("15:04:05.000000"), removed.Format("15:04:05.000000"))
	}
	gone := logTime(c.primary.Output(), "removed a service address", start)
	took := logTime(s2.d.Output(), "took the address over", start)
	if gone.IsZero() || took.IsZero() || !gone.Before(took) {
		t.Errorf("logs: heartbeatd removed the address at %v, failoverd took it at %v", gone, took)
	}
	c.oneHolderAtATime(start, c.Primary)

	healed := time.Now()
	c.HealAll()
	if !lab.WaitFor(holdDown+ttl+2*time.Second+slack, func() bool { return c.holds(c.Primary) }) {
		t.Fatalf("healed: the primary did not get its address back (holders %v)", c.holders())
	}
	c.waitAnswerFrom(c.Primary, 2*time.Second)
	s2.waitState("standby", slack)
	t.Logf("healed: the client answered by the primary %v after the heal", ms(c.answeredBy(c.Primary, healed)))
	c.oneHolderAtATime(start, c.Primary)
	c.noDual(start)
}

// noticedAt is when s first sent a notice saying what, at or after
// since; zero if it did not.
func (s *standbyd) noticedAt(what string, since time.Time) time.Time {
	for _, l := range strings.Split(s.notices(), "\n") {
		var n struct{ Time time.Time }
		if strings.Contains(l, what) && json.Unmarshal([]byte(l), &n) == nil && !n.Time.Before(since) {
			return n.Time
		}
	}
	return time.Time{}
}

// The primary holds its service address, a standby watches it: one etcd
// member down (not the leader) changes nothing; every member down: with
// FAILOVER_ARBITER_LOST=keep heartbeatd keeps the address, through
// etcd's return too; with release it removes it at its lease's deadline,
// and nobody holds it until etcd is back.
func TestArbiterMembersDownPrimaryKeep(t *testing.T)    { primaryMembersDown(t, "keep") }
func TestArbiterMembersDownPrimaryRelease(t *testing.T) { primaryMembersDown(t, "release") }

func primaryMembersDown(t *testing.T, lost string) {
	c := arbiterWorld(t, lost, 100)
	s2 := c.standbys[0]
	c.startAll()
	s2.waitKey("s1", 2*time.Second)
	start := time.Now()
	unchanged := func() bool { return slices.Equal(c.holders(), []string{"s1"}) && s2.state() == "standby" }

	m := c.stopMember(false)
	if !lab.Stays(2*ttl, unchanged) {
		t.Fatalf("etcd %s down: holders %v, s2 %s", m.Short, c.holders(), s2.state())
	}
	t.Logf("etcd %s (not the leader) down for %v: nothing changed", m.Short, 2*ttl)

	down := time.Now()
	c.Etcd.StopAll()
	if lost == "keep" {
		if !lab.Stays(3*ttl, unchanged) {
			t.Fatalf("every member down (keep): holders %v, s2 %s", c.holders(), s2.state())
		}
		back := time.Now()
		c.Etcd.StartAll()
		read := s2.waitKeyRead("s1", back, 2*ttl)
		t.Logf("etcd back: s2 read s1 as the holder %v after the members were started", ms(read))
		if !lab.Stays(ttl, unchanged) {
			t.Fatalf("etcd back (keep): holders %v, s2 %s", c.holders(), s2.state())
		}
		if at := c.addrs[c.Primary].firstDelete(down); !at.IsZero() {
			t.Fatalf("heartbeatd removed its service address %v after every member went down (keep)", at.Sub(down))
		}
		t.Logf("every member down for %v and back: heartbeatd kept the address (keep)", 3*ttl)
	} else {
		if !lab.WaitFor(ttl+slack, func() bool { return !c.holds(c.Primary) }) {
			t.Fatalf("every member down (release): heartbeatd still holds the address %v after", ttl+slack)
		}
		gone := c.addrs[c.Primary].firstDelete(down)
		t.Logf("every member down: heartbeatd removed the address %v after (release)", ms(gone.Sub(down)))
		if !lab.Stays(ttl, func() bool { return len(c.holders()) == 0 }) {
			t.Fatalf("every member down (release): holders %v", c.holders())
		}
		back := time.Now()
		c.Etcd.StartAll()
		if !lab.WaitFor(2*ttl+slack, func() bool { return c.holds(c.Primary) }) {
			t.Fatalf("etcd back (release): holders %v, s2 %s", c.holders(), s2.state())
		}
		t.Logf("etcd back: heartbeatd added the address again %v after the members were started", ms(c.addrs[c.Primary].firstAdd(back).Sub(back)))
	}
	if k := s2.noticeKinds(); slices.Contains(k, "takeover") || len(s2.tests()) != 0 {
		t.Errorf("s2 noticed %v, ran Test %q", k, s2.tests())
	}
	c.oneHolderAtATime(start, c.Primary)
	c.noDual(start)
}
