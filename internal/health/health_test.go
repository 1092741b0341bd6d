package health

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/hooks"
)

var t0 = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

func pass() []hooks.Result { return []hooks.Result{{Stage: hooks.Check, Name: "Check10.http"}} }

func fail() []hooks.Result {
	return []hooks.Result{{Stage: hooks.Check, Name: "Check10.http"},
		{Stage: hooks.Check, Name: "Check20.tcp", Exit: 1, Tail: []string{"connect to 127.0.0.1:5432 refused"}}}
}

// runs applies a script of rounds ("p" pass, "f" fail, "e" an error) one
// second apart and returns the state after each, "H" or "U".
func runs(tr *Tracker, script string) string {
	var out strings.Builder
	for i, c := range script {
		now := t0.Add(time.Duration(i+1) * time.Second)
		switch c {
		case 'p':
			tr.Observe(pass(), nil, now)
		case 'f':
			tr.Observe(fail(), nil, now)
		case 'e':
			tr.Observe(nil, errors.New("hooks: folder unsafe"), now)
		}
		if h, _ := tr.Healthy(); h {
			out.WriteByte('H')
		} else {
			out.WriteByte('U')
		}
	}
	return out.String()
}

func TestFallAndRise(t *testing.T) {
	for _, c := range []struct{ script, want string }{
		{"ppp", "HHH"},
		{"ffff", "HHUU"},           // fall 3: the third failure in a row
		{"fffpp", "HHUUH"},         // rise 2
		{"fpfpfpfpf", "HHHHHHHHH"}, // flapping never falls
		{"fffpfpfpp", "HHUUUUUUH"}, // nor rises
		{"ffe", "HHU"},             // a folder that cannot be read fails a round
		{"fffppfff", "HHUUHHHU"},
	} {
		tr := NewTracker(3, 2, t0)
		if got := runs(tr, c.script); got != c.want {
			t.Errorf("%s: %s, want %s", c.script, got, c.want)
		}
	}
}

func TestFailureSaysWhichCheckAndHow(t *testing.T) {
	tr := NewTracker(1, 1, t0)
	if !tr.Observe(fail(), nil, t0.Add(time.Second)) {
		t.Fatal("fall 1: the first failure is a change")
	}
	f := tr.Failing()
	if f.Check != "Check20.tcp" || f.Outcome != "exit 1" {
		t.Fatalf("failure %+v", f)
	}
	d := Detail(f, 1024)
	for _, want := range []string{"Check20.tcp", "exit 1", "refused"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
	if h, since := tr.Healthy(); h || !since.Equal(t0.Add(time.Second)) {
		t.Errorf("healthy %v since %v", h, since)
	}
}

func TestDetailFitsAMessage(t *testing.T) {
	f := Failure{Check: "Check10.http", Outcome: "exit 22", Tail: []string{strings.Repeat("é", 2000)}}
	d := Detail(f, 1024)
	if len(d) > 1024 || !strings.HasPrefix(d, "service checks fail: Check10.http") {
		t.Fatalf("detail of %d bytes: %.60q", len(d), d)
	}
	if !strings.HasSuffix(d, "é") {
		t.Fatalf("cut inside a character: %q", d[len(d)-4:])
	}
}
