package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// Several standbys without an arbiter: FAILOVER_PRIORITY orders them, and
// each announces itself to the others.

// noConflict fails the test if a standby sent a conflict notice (the
// others answering for the address are standbys it knows) or an anomaly
// notice (the primary fell silent on both links at once).
func (c *cluster) noConflict(ss ...*standbyd) {
	c.t.Helper()
	for _, s := range ss {
		if k := s.noticeKinds(); slices.Contains(k, "conflict") || slices.Contains(k, "anomaly") {
			c.t.Errorf("%s noticed %v while another standby held the address:\n%s", s.name, k, s.notices())
		}
	}
}

// Three standbys (priorities 200, 150, 100) and a primary whose public
// address is a service address: the primary loses power and exactly s2,
// the highest, takes the address; s3 and s4 say they yield to s2, which
// holds it, run no Test and send no conflict notice. s2 loses power and
// exactly s3 takes it; s4 yields to s3. The primary's power comes back
// (heartbeatd started again): it finds s3 answering, s3 hears it and
// gives the address back after the hold-down, and heartbeatd adds it on
// s3's released. The client never sees two MACs answer one round.
func TestStandbysTakeOverOneAtATimeByPriority(t *testing.T) {
	c := newClusterWorld(t, clusterOptions{priorities: []int{200, 150, 100}, service: true})
	c.startAll()
	c.byPriority(0)
}

// byPriority plays the scenario of three standbys on a started world:
// the primary off, then the holder, then the primary back. wait is what
// a takeover may take more than without an arbiter (a lease to expire).
func (c *cluster) byPriority(wait time.Duration) {
	t := c.t
	t.Helper()
	s2, s3, s4 := c.standbys[0], c.standbys[1], c.standbys[2]
	start := time.Now()

	// The primary loses power: s2 takes.
	off := time.Now()
	c.powerOff(c.Primary, c.primary)
	s2.waitState("active", wait+timeout+slack)
	c.waitAnswerFrom(s2.host, 2*time.Second)
	t.Logf("primary off: s2 (200) active and answering the client %v after it", ms(c.answeredBy(s2.host, off)))
	for _, s := range []*standbyd{s3, s4} {
		if !lab.WaitFor(slack, func() bool { return s.yieldsTo("s2") }) {
			t.Fatalf("%s does not say it yields to s2, which holds the address:\n%s", s.name, s.statusText())
		}
	}
	// For three of s3's and s4's timeouts and more: s2 alone holds it.
	if !lab.Stays(time.Second, func() bool {
		return slices.Equal(c.holders(), []string{"s2"}) && s3.state() == "standby" && s4.state() == "standby"
	}) {
		t.Fatalf("with s2 holding the address: holders %v, s3 %s, s4 %s", c.holders(), s3.state(), s4.state())
	}
	c.noConflict(s3, s4)
	for _, s := range []*standbyd{s3, s4} {
		if runs := s.tests(); len(runs) != 0 {
			t.Errorf("%s ran its Test while s2 ranked above it: %q", s.name, runs)
		}
	}

	// s2 loses power: s3 takes, s4 yields to it.
	off2 := time.Now()
	c.powerOff(s2.host, s2.d)
	s3.waitState("active", wait+2*timeout+slack)
	c.waitAnswerFrom(s3.host, 2*time.Second)
	t.Logf("s2 off: s3 (150) active and answering the client %v after it", ms(c.answeredBy(s3.host, off2)))
	if !lab.WaitFor(slack, func() bool { return s4.yieldsTo("s3") }) {
		t.Fatalf("s4 does not say it yields to s3, which holds the address:\n%s", s4.statusText())
	}
	if !lab.Stays(time.Second, func() bool { return slices.Equal(c.holders(), []string{"s3"}) && s4.state() == "standby" }) {
		t.Fatalf("with s3 holding the address: holders %v, s4 %s", c.holders(), s4.state())
	}
	c.noConflict(s3, s4)
	if runs := s4.tests(); len(runs) != 0 {
		t.Errorf("s4 ran its Test while a standby above it was alive: %q", runs)
	}

	// The primary's power comes back.
	back := time.Now()
	c.PowerOn(c.Primary)
	c.startPrimary()
	if !lab.WaitFor(holdDown+2*time.Second+slack, func() bool { return c.holds(c.Primary) }) {
		t.Fatalf("heartbeatd did not get its service address back (holders %v)", c.holders())
	}
	c.waitAnswerFrom(c.Primary, 2*time.Second)
	t.Logf("primary back: the client answered by s1 %v after its power came back (hold-down %v)", ms(c.answeredBy(c.Primary, back)), holdDown)
	s3.waitState("standby", slack)
	if !lab.Stays(time.Second, func() bool {
		return slices.Equal(c.holders(), []string{"s1"}) && s3.state() == "standby" && s4.state() == "standby"
	}) {
		t.Fatalf("after the give-back: holders %v, s3 %s, s4 %s", c.holders(), s3.state(), s4.state())
	}
	if !strings.Contains(c.primary.Output(), "the secondary released the addresses") {
		t.Errorf("heartbeatd did not hear s3's released:\n%s", c.primary.Output())
	}
	c.noConflict(s3, s4)
	if got := s2.noticeKinds(); !slices.Contains(got, "takeover") {
		t.Errorf("s2's notices %v: no takeover", got)
	}
	if got := s3.noticeKinds(); !slices.Contains(got, "takeover") || !slices.Contains(got, "giveback") {
		t.Errorf("s3's notices %v: want a takeover and a giveback", got)
	}
	if got := s4.noticeKinds(); slices.Contains(got, "takeover") || len(s4.tests()) != 0 {
		t.Errorf("s4, the lowest, noticed %v and ran Test %q", got, s4.tests())
	}
	c.noDual(start)
}
