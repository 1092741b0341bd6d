package notify

import (
	"github.com/ipfailover/ipfailover/internal/notice"

	"strings"
	"testing"
	"time"
)

func TestSubject(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	base := sampleNotice()
	with := func(f func(*Notice)) Notice { e := base.clone(); f(&e); return e }
	tests := []struct {
		e    Notice
		want string
	}{
		{base, "ipfailover: server2 took over 198.51.100.1 from 192.0.2.1"},
		{with(func(e *Notice) { e.Kind, e.Links[0].Alive = notice.GiveBack, true }), "ipfailover: server2 gave 198.51.100.1 back to 192.0.2.1"},
		{with(func(e *Notice) { e.Kind = notice.GiveBack }), "ipfailover: server2 gave 198.51.100.1 up while 192.0.2.1 is silent"},
		{with(func(e *Notice) {
			e.Kind = notice.Anomaly
			e.Links = []notice.Link{{Name: "eth1", Alive: true, LastHeard: at}, {Name: "eth0", LastHeard: at.Add(-5 * time.Second)}}
		}), "ipfailover: server2: network anomaly, no heartbeats from 192.0.2.1 on eth0"},
		{with(func(e *Notice) { e.Kind = notice.AnomalyCleared }), "ipfailover: server2: network anomaly cleared, heartbeats from 192.0.2.1 on every link"},
		{with(func(e *Notice) { e.Kind = notice.Veto }), "ipfailover: server2: the Test hook vetoed failover of 198.51.100.1 (primary 192.0.2.1)"},
		{with(func(e *Notice) { e.Kind = notice.HookFailure }), "ipfailover: server2: hook PostAcq20.StartApache failed (exit 3) for 198.51.100.1; 1 more hook failed"},
		{with(func(e *Notice) { e.Kind = notice.TwoRuns }), "ipfailover: server2: heartbeats of two heartbeatd runs from 192.0.2.1; the older run's are dropped as replays"},
		{with(func(e *Notice) {
			e.Addresses = []string{"eth0:198.51.100.1/32", "eth0:2001:db8::1/128", "203.0.113.7", "eth2:203.0.113.8/24", "eth3:whatever"}
		}), "ipfailover: server2 took over 198.51.100.1, 2001:db8::1, 203.0.113.7 and 2 more from 192.0.2.1"},
		{with(func(e *Notice) { e.Node = "" }), "ipfailover: (unknown) took over 198.51.100.1 from 192.0.2.1"},
	}
	for _, tt := range tests {
		if got := tt.e.Subject(); got != tt.want {
			t.Errorf("%s: Subject() =\n%q, want\n%q", tt.e.Kind, got, tt.want)
		}
	}
}

func TestBody(t *testing.T) {
	e := sampleNotice()
	e.Links[0].Alive, e.Links[0].LastHeard = true, e.At.Add(-time.Second)
	e.Links = append(e.Links, notice.Link{Name: "eth2"})
	body := e.Body()
	mustContain(t, "body", body,
		"server2 took over 198.51.100.1 from 192.0.2.1.\n",
		e.Detail,
		"2025-03-04T05:06:07Z",
		e.At.Local().Format("Mon 2 Jan 2006 15:04:05 MST")+" local",
		"eth1  alive, last heard 2025-03-04T05:06:06Z",
		"eth0  silent since 2025-03-04T05:06:03Z (4s before this event)",
		"eth2  silent, never heard",
		"eth0:198.51.100.1/32",
	)
	// One line per hook, in order, with stage, name, outcome and duration.
	var hooks []string
	for _, l := range strings.Split(body, "\n") {
		if f := strings.Fields(l); len(f) >= 4 && strings.HasPrefix(f[1], f[0]) {
			hooks = append(hooks, strings.Join(f, " "))
		}
	}
	want := []string{
		"Test Test exit 0 12ms",
		"PreAcq PreAcq10.StopDIP exit 0 1.5s",
		"PostAcq PostAcq20.StartApache exit 3 2s exit status 3",
		"PostAcq PostAcq30.StartTimer timed out 30s",
	}
	if strings.Join(hooks, "\n") != strings.Join(want, "\n") {
		t.Errorf("hook lines:\n%s\nwant:\n%s\nbody:\n%s", strings.Join(hooks, "\n"), strings.Join(want, "\n"), body)
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nBcc: x":        "a  Bcc: x",
		"tab\there":          "tab here",
		"nel\u0085ls\u2028x": "nel ls x",
		"bad\xffutf8":        "bad\uFFFDutf8",
		"  trimmed\n":        "trimmed",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
