package failoverd

import (
	"fmt"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
)

// CheckStandbys (for -n) checks FAILOVER_PRIORITY against the other standbys of
// the primary, as the failoverd running on this host hears them: one of
// the same priority is an error. Without a failoverd running here, who
// the others are is not known, and -n says so.
func CheckStandbys(c *config.Config) []config.Finding {
	resp, err := control.Call(c.ControlSocket, control.Request{Op: control.OpStatus}, 2*time.Second)
	if err != nil || resp.Status == nil {
		return []config.Finding{{Level: config.OK, Err: &config.Error{Origin: c.OriginOf(config.KeyPriority), Key: config.KeyPriority, Value: fmt.Sprint(c.Priority),
			Problem: "no failoverd answers on " + c.ControlSocket + ", so the other standbys were not heard: run failoverd -n again while failoverd runs to check that no other standby has this priority"}}}
	}
	var same, heard []string
	for _, p := range resp.Status.Standbys {
		heard = append(heard, fmt.Sprintf("%s (priority %d)", p.Name, p.Priority))
		if p.Priority == c.Priority {
			same = append(same, fmt.Sprintf("%s (from %s on %s)", p.Name, p.From, p.Link))
		}
	}
	if len(same) > 0 {
		return []config.Finding{{Level: config.Fatal, Err: &config.Error{Origin: c.OriginOf(config.KeyPriority), Key: config.KeyPriority, Value: fmt.Sprint(c.Priority),
			Problem: "the same priority as the standby " + strings.Join(same, " and ") + ", heard by the failoverd running here",
			Hint:    "give each standby a priority of its own, higher for the one that should take over first"}}}
	}
	if len(heard) == 0 {
		return []config.Finding{{Level: config.OK, Err: &config.Error{Origin: c.OriginOf(config.KeyPriority), Key: config.KeyPriority, Value: fmt.Sprint(c.Priority),
			Problem: "the failoverd running here hears no other standby"}}}
	}
	return []config.Finding{{Level: config.OK, Err: &config.Error{Origin: c.OriginOf(config.KeyPriority), Key: config.KeyPriority, Value: fmt.Sprint(c.Priority),
		Problem: "no other standby has it; the failoverd running here hears " + strings.Join(heard, ", ")}}}
}
