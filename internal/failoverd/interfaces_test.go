package failoverd

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
)

// ofKind returns the notices of kind sent so far.
func (n *notices) ofKind(kind notice.Kind) []notify.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []notify.Notice
	for _, e := range n.got {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// linkStatus is link's line of the status.
func linkStatus(t *testing.T, st control.Status, link string) control.Link {
	t.Helper()
	for _, l := range st.Links {
		if l.Name == link {
			return l
		}
	}
	t.Fatalf("no link %s in the status: %+v", link, st.Links)
	return control.Link{}
}

// A wrong interface name in the pairs (or an interface gone) leaves
// failoverd unable to take the address there, with only a log line at
// each question: the status shows it from the start, and past the
// start's grace a notice says so, once; another says when it is back.
func TestMissingInterfaceIsANoticeAfterTheGraceAndAgainWhenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 5 * time.Second
		ifs := &fakeInterfaces{names: []string{"lo", "priv0"}} // no pub0
		start := time.Now()
		w := newWorldWith(t, false, nil, ifs, func(c *Config) { c.Machine.InitialGrace = grace })

		// During the grace: in the status, and no notice yet.
		l := linkStatus(t, w.d.Status(), "pub0")
		if !l.Missing || !l.MissingSince.Equal(start) {
			t.Fatalf("status of pub0 while its interface is missing: missing %v since %v, want since %v", l.Missing, l.MissingSince, start)
		}
		if l := linkStatus(t, w.d.Status(), "priv0"); l.Missing {
			t.Fatal("priv0 is there, but the status says it is missing")
		}
		b, err := json.Marshal(w.d.Status())
		if err != nil {
			t.Fatal(err)
		}
		var js struct {
			Links []map[string]any `json:"links"`
		}
		if err := json.Unmarshal(b, &js); err != nil {
			t.Fatal(err)
		}
		if len(js.Links) != 2 || js.Links[1]["name"] != "pub0" || js.Links[1]["missing"] != true || js.Links[1]["missing_since"] == nil ||
			js.Links[0]["missing"] != nil {
			t.Fatalf("the status's JSON does not say pub0 is missing, and pub0 only: %s", b)
		}
		for time.Since(start) < grace-interval {
			w.beat("priv0")
			time.Sleep(interval)
		}
		if got := w.notices.ofKind(notice.InterfaceMissing); len(got) != 0 {
			t.Fatalf("an interface-missing notice within the start's grace: %+v", got)
		}

		// Past the grace: one notice, at the next look, naming the
		// interface and the address that cannot be taken.
		for time.Since(start) < grace+ifacesEvery+5*time.Second {
			w.beat("priv0")
			time.Sleep(interval)
		}
		got := w.notices.ofKind(notice.InterfaceMissing)
		if len(got) != 1 {
			t.Fatalf("%d interface-missing notices in the 6 s after the grace, want 1: %v", len(got), w.notices.kinds())
		}
		ev := got[0]
		if at := ev.At.Sub(start); at < grace || at > grace+ifacesEvery {
			t.Errorf("the interface-missing notice came %v after the start; grace %v, looked for every %v", at, grace, ifacesEvery)
		}
		if ev.Interface != "pub0" || !strings.Contains(ev.Detail, "interface pub0 does not exist") ||
			!strings.Contains(ev.Detail, "198.51.100.1 cannot be taken on it, so no takeover can happen") ||
			!strings.Contains(ev.Detail, "FAILOVER_PEER_IP_PAIRS") {
			t.Errorf("interface-missing notice: interface %q, detail %q", ev.Interface, ev.Detail)
		}
		if s := ev.Subject(); !strings.Contains(s, "interface pub0 is missing") {
			t.Errorf("subject %q does not name the interface", s)
		}
		if got := w.logs.lines("msg=notice", "kind=interface-missing"); len(got) != 1 {
			t.Errorf("the notice is logged %d times, want once", len(got))
		}

		// Back: another notice, of another kind, and the status says so.
		ifs.set("lo", "priv0", "pub0")
		back := time.Now()
		for time.Since(back) <= ifacesEvery {
			w.beat("priv0", "pub0")
			time.Sleep(interval)
		}
		backs := w.notices.ofKind(notice.InterfaceBack)
		if len(backs) != 1 || backs[0].Interface != "pub0" || !strings.Contains(backs[0].Detail, "interface pub0 is there again") {
			t.Fatalf("interface-back notices %+v, want one naming pub0", backs)
		}
		if l := linkStatus(t, w.d.Status(), "pub0"); l.Missing || !l.MissingSince.IsZero() {
			t.Fatalf("pub0 is back, but the status says missing %v since %v", l.Missing, l.MissingSince)
		}
		if n := len(w.notices.ofKind(notice.InterfaceMissing)); n != 1 {
			t.Fatalf("%d interface-missing notices, want still 1", n)
		}

		// Gone again, later: a notice at the next look (the grace is
		// long over).
		ifs.set("lo", "priv0")
		gone := time.Now()
		for time.Since(gone) <= ifacesEvery {
			w.beat("priv0")
			time.Sleep(interval)
		}
		if got := w.notices.ofKind(notice.InterfaceMissing); len(got) != 2 {
			t.Fatalf("%d interface-missing notices after it went again, want 2", len(got))
		}
		w.stop()
	})
}

// An interface that comes up within the start's grace (at boot, after
// failoverd) is no notice at all.
func TestInterfaceThatComesWithinTheGraceIsNoNotice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ifs := &fakeInterfaces{names: []string{"priv0"}}
		w := newWorldWith(t, false, nil, ifs, func(c *Config) { c.Machine.InitialGrace = 3 * time.Second })
		time.Sleep(time.Second + interval)
		ifs.set("priv0", "pub0")
		w.beatFor(5 * time.Second)
		for _, k := range w.notices.kinds() {
			if k == notice.InterfaceMissing || k == notice.InterfaceBack {
				t.Fatalf("notices %v for an interface that came within the grace", w.notices.kinds())
			}
		}
		if l := linkStatus(t, w.d.Status(), "pub0"); l.Missing {
			t.Fatal("pub0 is there, but the status says it is missing")
		}
		w.stop()
	})
}

// A missing link that carries no address of the primary's is told for
// what it is for only: heartbeats cannot be heard on it; its notices
// speak of no address to take there, missing or back.
func TestMissingLinkWithoutAddressesSaysOnlyThatHeartbeatsAreLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 2 * time.Second
		ifs := &fakeInterfaces{names: []string{"lo", "pub0"}} // no priv0; the address is on pub0
		start := time.Now()
		w := newWorldWith(t, false, nil, ifs, func(c *Config) { c.Machine.InitialGrace = grace })
		for time.Since(start) < grace+ifacesEvery+interval {
			w.beat("pub0")
			time.Sleep(interval)
		}
		got := w.notices.ofKind(notice.InterfaceMissing)
		if len(got) != 1 {
			t.Fatalf("%d interface-missing notices, want 1: %v", len(got), w.notices.kinds())
		}
		const says = "no heartbeat can be heard on it; if the name is wrong"
		if d := got[0].Detail; !strings.Contains(d, "interface priv0 does not exist") || !strings.Contains(d, says) || strings.Contains(d, "taken") {
			t.Errorf("interface-missing notice %q; want it to say %q and nothing of an address to take", d, says)
		}
		ifs.set("lo", "priv0", "pub0")
		back := time.Now()
		for time.Since(back) <= ifacesEvery {
			w.beat("priv0", "pub0")
			time.Sleep(interval)
		}
		backs := w.notices.ofKind(notice.InterfaceBack)
		if len(backs) != 1 || !strings.HasSuffix(backs[0].Detail, "missing: heartbeats are heard on it again") {
			t.Errorf("interface-back notices %+v; want one ending %q", backs, "missing: heartbeats are heard on it again")
		}
		w.stop()
	})
}
