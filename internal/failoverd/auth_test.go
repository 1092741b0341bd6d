package failoverd

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// otherKeys is the primary's keyring when it holds another key than
// failoverd's.
func otherKeys(t *testing.T) *wire.Keyring {
	k, err := wire.NewKey([]byte("the primary's own key, 32 bytes."), "primary")
	if err != nil {
		t.Fatal(err)
	}
	return wire.NewKeyring(k)
}

// sendAs delivers, on each of on, a heartbeat of the primary's sealed
// with sender's keys and opened with failoverd's, as the monitor does:
// accepted, or dropped as coming from the primary's own address; the
// fake source's counters keep its standing.
func (w *world) sendAs(sender *wire.Keyring, on ...string) {
	w.t.Helper()
	var hs []monitor.Heard
	for _, l := range on {
		p := wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: primaryEpoch, Seq: 1, Interval: interval, SentAt: time.Now(), HardwareAddr: primaryHW}
		b, err := sender.Seal(&p)
		if err != nil {
			w.t.Fatal(err)
		}
		p, err = w.keys.Open(b)
		auth, _ := w.keys.Stand(p, err, time.Now())
		h := monitor.Heard{Link: l, From: senders[l], At: time.Now(), Packet: p, Auth: auth}
		st := monitor.LinkStats{Auth: auth, Accepted: auth}
		if err != nil {
			h.Dropped = wire.ReasonOf(err)
			st = monitor.LinkStats{Auth: auth, Refused: auth}
		}
		hs = append(hs, h)
		w.src.setStats(l, st)
	}
	w.src.in <- hs
	synctest.Wait()
}

// The primary's key differs from failoverd's, and its host answers for
// its address: failoverd is in conflict, and everything that shows the
// status or tells of it says the primary is heard, but not
// authenticated, with the key ids on both sides; no notice says
// failoverctl acquire --force.
func TestAKeyMismatchIsHeardButNotAuthenticated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a)
		primary := otherKeys(t)
		says := "heard, but not authenticated: key id " + wire.FormatKeyID(w.keys.IDs()[0]) + " here, " + wire.FormatKeyID(primary.IDs()[0]) + " in the packets"
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(interval) {
			w.sendAs(primary, links...)
		}
		if s := w.d.State(); s != failover.Conflict {
			t.Fatalf("state %s, want conflict; notices %v", s, w.notices.kinds())
		}
		for _, k := range w.notices.kinds() {
			ev, _ := w.notices.last(k)
			if strings.Contains(ev.Detail, "--force") {
				t.Errorf("the %s notice suggests --force while the primary's packets arrive: %q", k, ev.Detail)
			}
		}
		ev, ok := w.notices.last(notice.Conflict)
		if !ok || !strings.Contains(ev.Detail, says) || strings.Contains(ev.Detail, "the primary is silent") {
			t.Errorf("conflict notice %q; want it to say %q", ev.Detail, says)
		}
		if body := ev.Body(); strings.Contains(body, "never heard") || strings.Count(body, says) < 3 {
			t.Errorf("the conflict notice's links do not say %q on each:\n%s", says, body)
		}
		if n := strings.Count(strings.Join(kinds(w.notices.kinds()), " "), string(notice.Unauthenticated)); n != 1 {
			t.Errorf("%d unauthenticated notices, want one: %v", n, w.notices.kinds())
		} else if ev, _ := w.notices.last(notice.Unauthenticated); !strings.Contains(ev.Detail, says) || !strings.Contains(ev.Subject(), "not authenticated") {
			t.Errorf("unauthenticated notice %q: %q; want it to say %q", ev.Subject(), ev.Detail, says)
		}

		if r := w.request(failover.OpAcquire); r.OK || strings.Contains(r.Error, "--force") || !strings.Contains(r.Error, says) {
			t.Errorf("acquire: %+v; want it refused, saying %q, not suggesting --force", r, says)
		}

		st := w.d.Status()
		if !strings.Contains(st.Authentication, says) || len(st.KeyIDs) != 1 {
			t.Errorf("status: authentication %q, key ids %v; want %q", st.Authentication, st.KeyIDs, says)
		}
		for _, l := range st.Links {
			if !l.Refusing() || l.Refused != says || l.Auth == nil || l.Auth.State != wire.AuthRefused || l.Auth.KeyID != wire.FormatKeyID(primary.IDs()[0]) {
				t.Errorf("status link %s: refused %q, auth %+v", l.Name, l.Refused, l.Auth)
			}
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"authentication":"` + says, `"key_ids":["`, `"refused":"` + says, `"auth":{"state":"refused","signed":true`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("status JSON does not hold %s:\n%s", want, b)
			}
		}

		m := NewMetrics(metrics.NewRegistry(), MetricsSources{Stats: w.src.Stats, Keys: func() *wire.Keyring { return w.keys }})
		want := `
# HELP ipfailover_auth_keys Keys heartbeats are checked with here (FAILOVER_AUTH_KEY_FILE); 0: they are not checked.
# TYPE ipfailover_auth_keys gauge
ipfailover_auth_keys 1
# HELP ipfailover_heartbeat_auth_info How the last packet from the primary on each link stood with the keys here (while its heartbeats are heard within the timeout, the last heartbeat: packets refused beside them count as bad-tag drops only): state authenticated (checked with a key here), unchecked (no key here) or refused (a key here, the packet not signed with it: dropped); the key ids here and in the packet (empty: none). Absent until a packet is heard.
# TYPE ipfailover_heartbeat_auth_info gauge
ipfailover_heartbeat_auth_info{key_here="` + wire.FormatKeyID(w.keys.IDs()[0]) + `",key_in_packets="` + wire.FormatKeyID(primary.IDs()[0]) + `",link="priv0",state="refused"} 1
ipfailover_heartbeat_auth_info{key_here="` + wire.FormatKeyID(w.keys.IDs()[0]) + `",key_in_packets="` + wire.FormatKeyID(primary.IDs()[0]) + `",link="pub0",state="refused"} 1
`
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), "ipfailover_auth_keys", "ipfailover_heartbeat_auth_info"); err != nil {
			t.Error(err)
		}
		w.stop()
	})
}

func kinds(ks []notice.Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// A key on one side only is told on the side of failoverd either way:
// with a key here and unsigned heartbeats (refused), and without one
// and signed heartbeats (accepted unchecked); in status and in a
// notice, once.
func TestAKeyOnOneSideOnlyIsTold(t *testing.T) {
	for _, c := range []struct {
		name       string
		here, peer bool // who has a key
		says       string
	}{
		{"a key here only", true, false, "heard, but not authenticated: key id %s here, none in the packets (unsigned)"},
		{"a key on the primary only", false, true, "NOT authenticated: no key here, %s in the packets"},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, false)
				primary, id := wire.NewKeyring(), wire.FormatKeyID(w.keys.IDs()[0])
				if c.peer {
					primary = otherKeys(t)
					id = wire.FormatKeyID(primary.IDs()[0])
				}
				if !c.here {
					w.keys = wire.NewKeyring()
				}
				says := strings.ReplaceAll(c.says, "%s", id)
				for range 5 {
					w.sendAs(primary, links...)
					time.Sleep(interval)
				}
				if st := w.d.Status(); !strings.Contains(st.Authentication, says) {
					t.Errorf("status says %q; want %q", st.Authentication, says)
				}
				if n := strings.Count(strings.Join(kinds(w.notices.kinds()), " "), string(notice.Unauthenticated)); n != 1 {
					t.Fatalf("%d unauthenticated notices, want one: %v", n, w.notices.kinds())
				}
				ev, _ := w.notices.last(notice.Unauthenticated)
				if !strings.Contains(ev.Detail, strings.TrimPrefix(says, "NOT ")) || !strings.Contains(ev.Detail, "FAILOVER_AUTH_KEY_FILE") {
					t.Errorf("unauthenticated notice %q; want it to say %q and what to set", ev.Detail, says)
				}
				w.stop()
			})
		})
	}
}

// With the same key on both sides, or none on either, status says
// which, and no notice is sent.
func TestAgreeingKeysAreShownAndNotTold(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, false)
			says := "authenticated with key id " + wire.FormatKeyID(w.keys.IDs()[0])
			if !keyed {
				w.keys = wire.NewKeyring()
				says = "not authenticated: no key on either server"
			}
			for range 5 {
				w.sendAs(w.keys, links...)
				time.Sleep(interval)
			}
			if st := w.d.Status(); !strings.HasPrefix(st.Authentication, says) {
				t.Errorf("keyed %v: status says %q; want %q", keyed, st.Authentication, says)
			}
			if _, ok := w.notices.last(notice.Unauthenticated); ok {
				t.Errorf("keyed %v: an unauthenticated notice: %v", keyed, w.notices.kinds())
			}
			w.stop()
		})
	}
}

// Status's authentication line tells of one standing when the links'
// packets stand differently: a disagreement before an agreement, the
// latest first, and names the links whose packets stand just so.
func TestAuthSummaryTellsTheMismatchFirstThenTheLatest(t *testing.T) {
	const here, other = 0x1a2b3c4d, 0x5e6f7a8b
	older := time.Unix(1_800_000_000, 0)
	newer := older.Add(time.Second)
	keys := []uint32{here}
	ok := func(at time.Time) wire.Standing {
		return wire.Standing{At: at, Keys: keys, Signed: true, KeyID: here}
	}
	unsigned := func(at time.Time) wire.Standing { return wire.Standing{At: at, Keys: keys, Refused: true} }
	otherKey := func(at time.Time) wire.Standing {
		return wire.Standing{At: at, Keys: keys, Signed: true, KeyID: other, Refused: true}
	}
	badTag := func(at time.Time) wire.Standing {
		return wire.Standing{At: at, Keys: keys, Signed: true, KeyID: here, Refused: true}
	}
	const (
		saysUnsigned = "heard, but not authenticated: key id 1a2b3c4d here, none in the packets (unsigned)"
		saysOther    = "heard, but not authenticated: key id 1a2b3c4d here, 5e6f7a8b in the packets"
		saysTag      = "heard, but not authenticated: key id 1a2b3c4d here and in the packets, but their tag does not match (changed on the way, or forged)"
		advice       = ": give both servers the same key (FAILOVER_AUTH_KEY_FILE)"
	)
	for _, c := range []struct {
		name        string
		priv0, pub0 wire.Standing
		want        string
	}{
		{"refused older than authenticated, second", ok(newer), unsigned(older), saysUnsigned + " (on pub0)" + advice},
		{"refused older than authenticated, first", unsigned(older), ok(newer), saysUnsigned + " (on priv0)" + advice},
		{"two refusals, the newer first", otherKey(newer), unsigned(older), saysOther + " (on priv0)" + advice},
		{"two refusals, the newer second", unsigned(older), otherKey(newer), saysOther + " (on pub0)" + advice},
		{"a bad tag with the key id of a heartbeat authenticated since", badTag(older), ok(newer), saysTag + " (on priv0)" + advice},
	} {
		stats := map[string]monitor.LinkStats{"priv0": {Auth: c.priv0}, "pub0": {Auth: c.pub0}}
		if got := authSummary(keys, stats, links, false, newer, timeout); got != c.want {
			t.Errorf("%s: status says\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
}

// Packets refused from the primary's addresses, with no heartbeat of its
// heard, say nothing of the keys until they have come for a timeout: one
// forged packet is no notice. Then one notice, at the packet a timeout
// after the first, that does not claim heartbeats were authenticated
// here before.
func TestRefusedPacketsAreToldAfterATimeoutOfThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		unsigned := wire.NewKeyring()
		first := time.Now()
		for time.Since(first) < timeout {
			w.sendAs(unsigned, links...)
			if ev, ok := w.notices.last(notice.Unauthenticated); ok {
				t.Fatalf("an unauthenticated notice %v after the first refused packet, before a timeout (%v) of them: %q", time.Since(first), timeout, ev.Detail)
			}
			time.Sleep(interval)
		}
		w.sendAs(unsigned, links...)
		ev, ok := w.notices.last(notice.Unauthenticated)
		if !ok {
			t.Fatalf("no unauthenticated notice after %v of refused packets: %v", time.Since(first), w.notices.kinds())
		}
		if !ev.At.Equal(first.Add(timeout)) {
			t.Errorf("the unauthenticated notice came %v after the first refused packet, want at the packet a timeout (%v) after it", ev.At.Sub(first), timeout)
		}
		if !strings.Contains(ev.Detail, "the primary's packets count for nothing") || strings.Contains(ev.Detail, "authenticated here") {
			t.Errorf("unauthenticated notice %q; want it to say the packets count for nothing, and nothing of heartbeats authenticated before", ev.Detail)
		}
		w.stop()
	})
}

// While the primary is heard, status tells packets refused within the
// timeout before now beside its heartbeats, on the links they came on
// only: one refused exactly a timeout ago still, one longer ago not, and
// a link where none was refused never.
func TestAuthSummaryTellsRefusedPacketsWithinTheTimeoutOnTheirLinks(t *testing.T) {
	const here = 0x1a2b3c4d
	now := time.Unix(1_800_000_000, 0)
	keys := []uint32{here}
	ok := wire.Standing{At: now.Add(-interval), Keys: keys, Signed: true, KeyID: here}
	refused := func(at time.Time) wire.Standing { return wire.Standing{At: at, Keys: keys, Refused: true} }
	const (
		authenticated = "authenticated with key id 1a2b3c4d"
		beside        = "; packets from the primary's addresses that fail authentication beside its authenticated heartbeats (on %s: key id 1a2b3c4d here, none in the packets (unsigned)): forged, replayed, or a second sender"
	)
	for _, c := range []struct {
		name        string
		priv0, pub0 wire.Standing // refused on each link; zero: none
		want        string
	}{
		{"none refused", wire.Standing{}, wire.Standing{}, authenticated},
		{"refused on pub0 only", wire.Standing{}, refused(now.Add(-interval)), authenticated + strings.ReplaceAll(beside, "%s", "pub0")},
		{"refused on pub0 exactly a timeout ago", wire.Standing{}, refused(now.Add(-timeout)), authenticated + strings.ReplaceAll(beside, "%s", "pub0")},
		{"refused on priv0 longer ago than the timeout", refused(now.Add(-timeout - time.Nanosecond)), refused(now), authenticated + strings.ReplaceAll(beside, "%s", "pub0")},
	} {
		stats := map[string]monitor.LinkStats{"priv0": {Auth: ok, Accepted: ok, Refused: c.priv0}, "pub0": {Auth: ok, Accepted: ok, Refused: c.pub0}}
		if got := authSummary(keys, stats, links, true, now, timeout); got != c.want {
			t.Errorf("%s: status says\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
}
