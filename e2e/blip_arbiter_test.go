package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// A blip of the management network: the holder of the address cut from
// every etcd member (the nemesis drops its packets, silently, as a
// switch that reboots) for a second: longer than two of its rounds, so
// that it finds the majority gone, and short enough to change nothing
// whenever it falls (its deadline is at least T - T/6 - the margin after
// the cut, 2 s with the default lease, and the first renewal after the
// heal may take up to about a second: failoverd(8)).
// It keeps the address, nobody else adds it, and it says it reached the
// majority again soon after the heal: heartbeatd with its service
// address, or the standby that took the address over.
func TestArbiterBlipOfThePrimarysManagementLinkChangesNothing(t *testing.T) {
	c := arbiterWorld(t, "release", 100)
	s2 := c.standbys[0]
	c.startAll()
	s2.waitKey("s1", 2*time.Second)
	holderBlip(c, c.Primary, c.primary, time.Second)
}

func TestArbiterBlipOfTheHoldersManagementLinkChangesNothing(t *testing.T) {
	c, s2, _ := holderAndStandby(t, "release", ttl)
	holderBlip(c, s2.host, s2.d, time.Second)
}

// holderBlip cuts h, which holds the address and runs d, from every etcd
// member for blip, heals, and checks that nothing changed.
func holderBlip(c *cluster, h *lab.Host, d *lab.Daemon, blip time.Duration) {
	t := c.t
	t.Helper()
	var members []*lab.Host
	for _, m := range c.Etcd.Members {
		members = append(members, m.Host)
	}
	holders := c.holders()
	start := time.Now()
	c.Cut([]*lab.Host{h}, members)
	time.Sleep(blip) // the blip's length: what the test is about, not a wait for a condition
	healed := time.Now()
	c.HealAll()
	if lost := logTime(d.Output(), "arbiter majority unreachable", start); lost.IsZero() || lost.After(healed) {
		t.Errorf("%s did not find the majority gone during a cut of %v (at %v)", h.Short, blip, lost)
	}
	var back time.Time
	if !lab.WaitFor(ttl/6+slack, func() bool {
		back = logTime(d.Output(), "arbiter majority reachable again", healed)
		return !back.IsZero()
	}) {
		t.Fatalf("%s does not say it reached the arbiter's majority again within %v of the heal", h.Short, ttl/6+slack)
	}
	if !lab.Stays(ttl, func() bool { return slices.Equal(c.holders(), holders) }) {
		t.Errorf("a blip of %v of %s's management link: holders %v, were %v", blip, h.Short, c.holders(), holders)
	}
	if at := c.addrs[h].firstDelete(start); !at.IsZero() {
		t.Errorf("a blip of %v of %s's management link: it removed the address %v after the cut", blip, h.Short, ms(at.Sub(start)))
	}
	t.Logf("a blip of %v of %s's management link: reachable again %v after the heal", blip, h.Short, ms(back.Sub(healed)))
	c.noDual(start)
}

// A blip of one etcd member (not the leader): cut from everyone, the
// other members and every daemon, for longer than its election timeout,
// so that it campaigns in vain, then back. The holder keeps the address
// and the standby takes nothing: the other two are a majority
// throughout, and with pre-vote the member's return unseats no leader.
func TestArbiterBlipOfAMemberChangesNothing(t *testing.T) {
	c := arbiterWorld(t, "release", 100)
	s2 := c.standbys[0]
	c.startAll()
	s2.waitKey("s1", 2*time.Second)
	m := c.member(false)
	start := time.Now()
	c.Isolate(m.Host)
	time.Sleep(3 * time.Second) // the blip's length: what the test is about, not a wait for a condition
	healed := time.Now()
	c.HealAll()
	if !lab.Stays(2*ttl, func() bool { return slices.Equal(c.holders(), []string{"s1"}) && s2.state() == "standby" }) {
		t.Fatalf("etcd %s cut off for 3 s and back: holders %v, s2 %s", m.Short, c.holders(), s2.state())
	}
	if at := c.addrs[c.Primary].firstDelete(start); !at.IsZero() {
		t.Fatalf("etcd %s cut off for 3 s and back: heartbeatd removed its address %v after the cut", m.Short, ms(at.Sub(start)))
	}
	if at := c.elected(healed); !at.IsZero() {
		t.Logf("etcd %s's return forced an election, %v after it", m.Short, ms(at.Sub(healed)))
	}
	c.noDual(start)
}
