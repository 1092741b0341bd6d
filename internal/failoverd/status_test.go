package failoverd

import (
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// failoverctl status lists the last run of each stage address by
// address, in the order the stages run: Test, PreAcq, PostAcq, PreRel,
// PostRel; also after a give-back that ran before the takeover.
func TestStatusListsStagesInTheOrderTheyRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		second := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.2/32")}
		w := newWorld(t, true, func(c *Config) {
			c.Addresses = append(c.Addresses, second)
			c.Held = append(c.Held, second)
		})
		if err := w.manager.Acquire(t.Context(), second); err != nil {
			t.Fatal(err)
		}
		w.beat(links...)
		if r := w.request(failover.OpRelease); !r.OK {
			t.Fatalf("release: %+v", r)
		}
		if r := w.request(failover.OpAcquire); !r.OK {
			t.Fatalf("acquire: %+v", r)
		}
		var got []string
		for _, s := range w.d.Status().Stages {
			got = append(got, s.Address+" "+string(s.Stage))
		}
		var want []string
		for _, a := range []takeover.Address{w.addr, second} {
			for _, s := range []hooks.Stage{hooks.Test, hooks.PreAcq, hooks.PostAcq, hooks.PreRel, hooks.PostRel} {
				want = append(want, a.String()+" "+string(s))
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("status stages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		w.stop()
	})
}

// Status names the primary's run (its epoch) and name as its heartbeats
// say, from the link it was heard on; a link that heard nothing does not
// blank them.
func TestStatusNamesThePrimarysRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beat("priv0")
		w.src.setStats("priv0", monitor.LinkStats{Epoch: primaryEpoch, Sender: "server1", LastHeard: w.lastBeat})
		st := w.d.Status()
		if st.PeerEpoch != primaryEpoch || st.PeerName != "server1" {
			t.Fatalf("status names the primary %q, epoch %#x; want server1, %#x", st.PeerName, st.PeerEpoch, uint64(primaryEpoch))
		}
		w.stop()
	})
}

// Packets dropped on interfaces that are not links show in status apart
// from the links'.
func TestStatusShowsDropsOnOtherInterfaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		if st := w.d.Status(); len(st.OtherDropped) != 0 {
			t.Fatalf("other interfaces' drops %v before any", st.OtherDropped)
		}
		drops := map[wire.DropReason]uint64{wire.DropUnknownLink: 4}
		w.src.setStats(monitor.Unknown, monitor.LinkStats{Dropped: drops})
		if st := w.d.Status(); !maps.Equal(st.OtherDropped, drops) {
			t.Fatalf("other interfaces' drops %v, want %v", st.OtherDropped, drops)
		}
		w.stop()
	})
}

// A link heard exactly a timeout ago still counts as heard, in status as
// in the machine's rule (it falls silent once the timeout has passed).
func TestStatusCountsALinkHeardUntilTheTimeoutHasPassed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		w.beat("priv0")
		time.Sleep(timeout - interval) // pub0 was heard an interval earlier
		alive := func() map[string]bool {
			out := map[string]bool{}
			for _, l := range w.d.Status().Links {
				out[l.Name] = l.Alive
			}
			return out
		}
		if a := alive(); !a["priv0"] || !a["pub0"] {
			t.Fatalf("links alive %v, pub0 heard exactly a timeout (%v) ago", a, timeout)
		}
		time.Sleep(interval)
		if a := alive(); !a["priv0"] || a["pub0"] {
			t.Fatalf("links alive %v, priv0 heard exactly a timeout ago, pub0 longer", a)
		}
		w.stop()
	})
}

// Dropped packets are in the history as one event per link and reason a
// second, with the count dropped in that second, sorted by link and
// reason; a second with nothing new adds nothing.
func TestDropsAreSummarisedInTheHistoryOnceASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.src.setStats("priv0", monitor.LinkStats{Dropped: map[wire.DropReason]uint64{wire.DropBadTag: 2}})
		time.Sleep(dropsEvery) // counted before: the first summary says what came since
		synctest.Wait()
		start := time.Now()
		w.src.setStats("priv0", monitor.LinkStats{Dropped: map[wire.DropReason]uint64{wire.DropBadTag: 7, wire.DropReplay: 1}})
		w.src.setStats("pub0", monitor.LinkStats{Dropped: map[wire.DropReason]uint64{wire.DropMalformed: 3}})
		w.src.setStats(monitor.Unknown, monitor.LinkStats{Dropped: map[wire.DropReason]uint64{wire.DropUnknownLink: 6}})
		time.Sleep(3 * dropsEvery)
		synctest.Wait()
		got := dropEvents(w, start)
		want := "(other) unknown-link 6\npriv0 bad-tag 5\npriv0 replay 1\npub0 malformed 3"
		if got != want {
			t.Fatalf("drops in the history:\n%s\nwant:\n%s", got, want)
		}
		w.src.setStats("priv0", monitor.LinkStats{Dropped: map[wire.DropReason]uint64{wire.DropBadTag: 10, wire.DropReplay: 1}})
		at := time.Now()
		time.Sleep(3 * dropsEvery)
		synctest.Wait()
		if got := dropEvents(w, at); got != "priv0 bad-tag 3" {
			t.Fatalf("drops in the history after 3 more bad tags:\n%s", got)
		}
		w.stop()
	})
}

// dropEvents shows the drops events in the history after t, a line each.
func dropEvents(w *world, after time.Time) string {
	var out []string
	for _, e := range w.d.Events(after) {
		if e.Kind == history.KindDrops && e.At.After(after) {
			out = append(out, fmt.Sprintf("%s %s %d", e.Link, e.Reason, e.Count))
		}
	}
	return strings.Join(out, "\n")
}

// The history records each operator request and what failoverd answered;
// a status request is not one (failoverctl status runs every few seconds
// in some dashboards).
func TestHistoryRecordsOperatorRequestsButNotStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.request(control.OpStatus)
		w.request(failover.OpHold)
		var got []string
		for _, e := range w.d.Events(time.Time{}) {
			if e.Kind == history.KindCommand {
				got = append(got, string(e.Op)+": "+e.Outcome)
			}
		}
		if want := "hold: held: no automatic takeover or give-back until failoverctl resume"; strings.Join(got, "\n") != want {
			t.Fatalf("commands in the history: %q, want %q", got, want)
		}
		w.stop()
	})
}

// After the primary's goodbye, status still says when its last
// heartbeat came (beside the count of those received), and that it
// said goodbye since: not "never". So does the takeover's notice.
func TestStatusAfterAGoodbyeSaysWhenTheLastHeartbeatCame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		last := w.lastBeat
		time.Sleep(interval / 2)
		bye := time.Now()
		w.goodbye("priv0")
		w.waitState(failover.Active, time.Second)
		check := func(what string, ls []notice.Link) {
			t.Helper()
			for _, l := range ls {
				want := time.Time{}
				if l.Name == "priv0" {
					want = bye
				}
				if !l.LastHeard.Equal(last) || !l.Goodbye.Equal(want) || (l.Alive && l.Name == "priv0") {
					t.Errorf("%s: link %s after the goodbye: last heartbeat %v, goodbye %v, alive %v; want %v, %v",
						what, l.Name, l.LastHeard, l.Goodbye, l.Alive, last, want)
				}
			}
		}
		var ls []notice.Link
		for _, l := range w.d.Status().Links {
			ls = append(ls, l.Link)
		}
		check("status", ls)
		ev, ok := w.notices.last(notice.Takeover)
		if !ok {
			t.Fatalf("no takeover notice: %v", w.notices.kinds())
		}
		check("the takeover notice", ev.Links)
		w.stop()
	})
}

// A takeover that a lost carrier started lists that link in its notice
// as it is: silent, without carrier, not alive because its last
// heartbeat came within the timeout.
func TestTakeoverNoticeListsALinkWithoutCarrierAsSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorldAsking(t, false, newAsker(), confirming)
		w.beatFor(time.Second)
		time.Sleep(10 * time.Millisecond)
		w.carrier <- carrierChange{"priv0", false}
		w.waitState(failover.Active, time.Second)
		ev, ok := w.notices.last(notice.Takeover)
		if !ok {
			t.Fatalf("no takeover notice: %v", w.notices.kinds())
		}
		if l := ev.Links[0]; l.Name != "priv0" || l.Alive || !l.NoCarrier {
			t.Errorf("the takeover notice lists %+v, want priv0 silent without carrier", l)
		}
		line := ""
		for _, s := range strings.Split(ev.Body(), "\n") {
			if strings.HasPrefix(s, "  priv0 ") {
				line = s
			}
		}
		if !strings.Contains(line, "no carrier") || strings.Contains(line, "alive") {
			t.Errorf("the takeover notice's line for priv0 is %q, want it silent without carrier:\n%s", line, ev.Body())
		}
		if st := w.d.Status(); st.Links[0].Alive {
			t.Errorf("status says priv0 is alive without carrier: %+v", st.Links[0])
		}
	})
}
