package arbiter

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
)

// CheckTime bounds -n's look at the arbiter: members that do not answer
// within it are silent, and a read that does not come back within it did
// not reach the majority.
const CheckTime = 3 * time.Second

// Check is -n's look at the arbiter (FAILOVER_ARBITER), as this host
// sees it now: how many members answer, which refuse the connection and
// which are silent, whether the majority is reached, who holds the keys
// under the prefix (those of mine, the addresses this host cares about,
// first) and which nodes are alive, with their role. It takes CheckTime
// at most. An unreachable majority is a warning that names the members;
// a client that cannot be set up (its TLS files) is an error, as it
// stops the daemon's start. Nothing is written.
func Check(c *config.Config, mine []string) []config.Finding {
	if len(c.Arbiter) == 0 {
		return nil
	}
	e, err := dialConfig(c)
	if err != nil {
		return []config.Finding{{Level: config.Fatal, Err: &config.Error{Origin: c.OriginOf(config.KeyArbiter), Key: config.KeyArbiter,
			Problem: "cannot set up the arbiter's client: " + err.Error()}}}
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), CheckTime)
	defer cancel()
	var (
		wg      sync.WaitGroup
		members []MemberState
		kvs     []KV
		readErr error
	)
	wg.Go(func() { members = e.MemberStates(ctx) })
	wg.Go(func() { kvs, readErr = e.List(ctx, strings.TrimSuffix(prefixOf(c), "/")+"/") })
	wg.Wait()
	return checkFindings(c, mine, members, kvs, readErr)
}

func prefixOf(c *config.Config) string {
	if c.ArbiterPrefix == "" {
		return DefaultPrefix
	}
	return c.ArbiterPrefix
}

// checkFindings says what Check found.
func checkFindings(c *config.Config, mine []string, members []MemberState, kvs []KV, readErr error) []config.Finding {
	answering := 0
	var others []string
	for _, m := range members {
		switch m.State {
		case Answering:
			answering++
		case Refusing:
			others = append(others, m.Endpoint+" refuses the connection (no etcd listens there)")
		case Leaderless:
			others = append(others, m.Endpoint+" answers with no leader in view")
		default:
			others = append(others, fmt.Sprintf("%s is silent (%v)", m.Endpoint, m.Err))
		}
	}
	need := len(members)/2 + 1
	count := fmt.Sprintf("%d of %d members answer with a leader in view", answering, len(members))
	if len(others) > 0 {
		count += "; " + strings.Join(others, "; ")
	}
	arb := func(l config.Level, problem, hint string) config.Finding {
		return config.Finding{Level: l, Err: &config.Error{Origin: c.OriginOf(config.KeyArbiter), Key: config.KeyArbiter, Problem: problem, Hint: hint}}
	}
	if readErr != nil {
		return []config.Finding{arb(config.Warning,
			fmt.Sprintf("the majority (%d of %d) cannot be reached: a read through it failed within %v (%v); %s", need, len(members), CheckTime, readErr, count),
			"until it can, this host adds no address, and one that holds addresses removes them at its lease's deadline; check that etcd runs on the members and that this host reaches them (etcdctl --endpoints=... endpoint health)")}
	}
	out := []config.Finding{arb(config.OK, "the majority is reached (a read through it answered); "+count, "")}

	prefix := strings.TrimSuffix(prefixOf(c), "/")
	holders, nodes := map[string]string{}, map[string]string{}
	for _, kv := range kvs {
		if a, ok := strings.CutPrefix(kv.Key, prefix+"/addr/"); ok {
			holders[a] = kv.Value
		} else if n, ok := strings.CutPrefix(kv.Key, prefix+"/node/"); ok {
			nodes[n] = kv.Value
		}
	}
	held := func(a string) string {
		switch h := holders[a]; h {
		case "":
			return a + " free"
		case c.NodeName:
			return a + " held by " + h + " (this host)"
		default:
			return a + " held by " + h
		}
	}
	var ours, rest []string
	for _, a := range mine {
		ours = append(ours, held(a))
	}
	for _, a := range slices.Sorted(maps.Keys(holders)) {
		if !slices.Contains(mine, a) {
			rest = append(rest, held(a))
		}
	}
	keys := "this host's addresses: " + orNone(ours) + "; other address keys: " + orNone(rest)
	var alive []string
	for _, n := range slices.Sorted(maps.Keys(nodes)) {
		alive = append(alive, n+" ("+nodes[n]+")")
	}
	live := "nodes alive: " + orNone(alive)
	if _, ok := nodes[c.NodeName]; !ok {
		live += "; this host (" + c.NodeName + ") is not among them: its daemon does not run, or has no lease"
	}
	pfx := func(problem string) config.Finding {
		return config.Finding{Level: config.OK, Err: &config.Error{Origin: c.OriginOf(config.KeyArbiterPrefix), Key: config.KeyArbiterPrefix, Value: prefix, Problem: problem}}
	}
	return append(out, pfx(keys), pfx(live))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
