package main

import (
	"os/exec"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// One short ipfailover round, so the driver cannot rot between runs of
// make bench: CI runs it with the other lab tests.
func TestSmoke(t *testing.T) {
	lab.Require(t)
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/", "github.com/ipfailover/ipfailover/cmd/...").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var out map[string]time.Duration
	if err := run("smoke", func(s *scope) { out = round(s, ipfailover{bin: bin}, 100*time.Millisecond) }); err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		if out[sc] <= 0 || out[sc] > 5*time.Second {
			t.Errorf("%s: outage %v", sc, out[sc])
		}
	}
	t.Logf("unplanned %v, planned %v, give-back %v", out[Unplanned], out[Planned], out[GiveBack])

}
