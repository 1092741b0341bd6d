package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Result is what one run saw.
type Result struct {
	Seed      uint64
	Breach    string        // the first promise broken; empty: none
	At        time.Duration // when, from the start
	Timeline  string        // the last events (up to the breach, if one)
	Config    string        // the configuration drawn
	Plan      []string      // the faults drawn
	Took      time.Duration // simulated time
	Takeovers int
	Standbys  int
	Arbiter   bool // the seed has one
	// LowerTook: takeovers by a standby while one that ranks above it
	// ran; Pairs: times two standbys answered for the address at once.
	LowerTook, Pairs int
}

func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %s at %v\nconfig: %s\nfaults:\n", r.Seed, r.Breach, r.At.Round(time.Millisecond), r.Config)
	for _, p := range r.Plan {
		b.WriteString("  " + p + "\n")
	}
	b.WriteString("timeline (last events):\n" + r.Timeline)
	b.WriteString(fmt.Sprintf("replay: make sim SEED=%d\n", r.Seed))
	return b.String()
}

// load is config.Load for a role, from key settings.
func load(role config.Role, kv map[string]string) (*config.Config, error) {
	s := config.Settings{}
	for k, v := range kv {
		s[k] = config.Setting{Value: v}
	}
	return config.Load(role, config.Sources{Flags: s})
}

// Run plays the scenario seed draws, from configuration to faults, and
// checks the promises throughout. It must run in a testing/synctest
// bubble: its clock is the bubble's.
func Run(seed uint64) Result {
	tl := newTimeline(time.Now())
	// The standbys: one in half the seeds (the pair), two or three in
	// the others, each with a priority of its own; in one seed of ten
	// with several, two share one (a configuration error failoverd
	// tells of: the names order them).
	sr := rand.New(rand.NewPCG(seed, 0x5374616e64627973))
	count := 1
	if sr.IntN(2) == 0 {
		count = 2 + sr.IntN(2)
	}
	prios := []int{}
	for len(prios) < count {
		if p := 1 + sr.IntN(255); !slices.Contains(prios, p) {
			prios = append(prios, p)
		}
	}
	if count > 1 && sr.IntN(10) == 0 {
		prios[1] = prios[0]
	}
	w := newWorld(seed, tl, count)
	for i, n := range w.nodes {
		n.prio = prios[i]
	}
	// The network: each direction of each link its own.
	nr := w.rng("network")
	for _, l := range w.links {
		for _, c := range l.conds {
			if nr.IntN(2) == 0 {
				c.loss = maxLoss * nr.Float64()
			}
			c.delay = 100*time.Microsecond + time.Duration(nr.Int64N(int64(2*time.Millisecond)))
			c.jitter = time.Duration(nr.Int64N(int64(time.Millisecond)))
			if nr.IntN(3) == 0 {
				c.dup = 0.02 * nr.Float64()
			}
		}
	}
	// FAILOVER_ASK_WAIT must cover an answer's round trip (ipfailover(5):
	// raise it on a network where answers take longer): twice the
	// slowest round trip here, 2ms at least.
	var slowest time.Duration
	for _, l := range w.links {
		for _, c := range l.conds {
			slowest = max(slowest, c.delay+c.jitter)
		}
	}
	askWait := max(2*time.Millisecond, (4*slowest).Round(time.Millisecond)+time.Millisecond)
	// FAILOVER_CONFIRM_SPACING too: the last probe is given as long for
	// its answer ("raise it on a network where the primary's answers
	// take longer").
	spacing := (2 * slowest).Round(time.Millisecond) + time.Millisecond
	// Host-address mode (failoverd takes the primary's own address), or
	// service-address mode (heartbeatd holds a service address while
	// its checks pass, and gives it up when they fail). A stream of its
	// own, so that the other draws of a seed stay as they were.
	mr := w.rng("mode")
	w.addr = pPub
	serviceMode := mr.IntN(3) == 0
	if serviceMode {
		w.addr = svcIP
	}
	checkEvery := pick(mr, 200*time.Millisecond, 500*time.Millisecond, time.Second)
	fall, rise := 1+mr.IntN(3), 1+mr.IntN(3)
	cr := w.rng("config")
	interval := pick(cr, 50*time.Millisecond, 100*time.Millisecond, 200*time.Millisecond, 500*time.Millisecond, time.Second)
	dead := 3 + cr.IntN(3)
	hold := pick(cr, time.Second, 2*time.Second, 5*time.Second)
	confirm := pick(cr, "-YES-", "-YES-", "-YES-", "-NO-")
	grace := 2 * time.Duration(dead) * interval
	common := map[string]string{
		config.KeyInterval: interval.String(), config.KeyHoldDown: hold.String(), config.KeyPort: fmt.Sprint(hbPort),
		config.KeyAskWait: askWait.String(),
	}
	hbKV := map[string]string{config.KeyBcastIPs: "192.0.2.255 198.51.100.255", config.KeyNodeName: "primary"}
	foKV := map[string]string{config.KeyPeerIP: pPriv.String(), config.KeyPairs: linkPub + ":" + w.addr.String(),
		config.KeyDeadCount: fmt.Sprint(dead), config.KeyInitialGrace: grace.String(), config.KeyConfirm: confirm,
		config.KeyConfirmSpacing: spacing.String()}
	for k, v := range common {
		hbKV[k], foKV[k] = v, v
	}
	// The checks run in both modes; in host-address mode a failing one
	// moves nothing (ipfailover(5)).
	hbKV[config.KeyCheckInterval], hbKV[config.KeyCheckFall], hbKV[config.KeyCheckRise] = checkEvery.String(), fmt.Sprint(fall), fmt.Sprint(rise)
	if serviceMode {
		hbKV[config.KeyServiceIPs] = linkPub + ":" + svcIP.String()
	}
	w.arb = w.arbiterConfig(hbKV, foKV)
	res := Result{Seed: seed, Arbiter: w.arb != nil}
	hbCfg, err := load(config.Heartbeatd, hbKV)
	if err != nil {
		res.Breach = "heartbeatd's configuration: " + err.Error()
		return res
	}
	for _, n := range w.nodes {
		foKV[config.KeyNodeName], foKV[config.KeyPriority] = n.name, fmt.Sprint(n.prio)
		if n.cfg, err = load(config.Failoverd, foKV); err != nil {
			res.Breach = "failoverd's configuration: " + err.Error()
			return res
		}
	}
	foCfg := w.nodes[0].cfg
	keyed := cr.IntN(4) != 0
	if keyed {
		secret := make([]byte, 32)
		for i := range secret {
			secret[i] = byte(cr.Uint32())
		}
		k, err := wire.NewKey(secret, "sim")
		if err != nil {
			res.Breach = "key: " + err.Error()
			return res
		}
		hbCfg.Keys = []wire.Key{k}
		for _, n := range w.nodes {
			n.cfg.Keys = []wire.Key{k}
		}
	}
	b := bounds{Interval: interval, Timeout: time.Duration(dead) * interval, HoldDown: hold, InitialGrace: grace,
		VetoRetry: 30 * time.Second, AskWait: foCfg.AskWait, DeadCount: dead,
		Service: serviceMode, CheckEvery: checkEvery, Fall: fall, Rise: rise}
	b.Reaction = 2*time.Second + 2*interval
	b.Confirm, b.Probes = foCfg.Confirm, foCfg.ConfirmProbes
	b.StartWait = max(grace, time.Duration(dead)*config.DefaultSenderInterval())
	b.AskRace = 100*time.Millisecond + 3*b.AskWait
	// failoverd learns of a carrier change late (the driver, netlink,
	// its watch's goroutine): up to an eighth of the interval, which
	// failoverd(8) says it allows for.
	w.carrierDelay = pick(w.rng("carrier delay"), 0, 0, interval/16, interval/8)
	mode := "host address " + pPub.String()
	if serviceMode {
		mode = "service address " + svcIP.String()
	}
	res.Config = fmt.Sprintf("%s, checks every %v (fall %d, rise %d), ", mode, checkEvery, fall, rise) + fmt.Sprintf("interval %v, dead count %d, hold-down %v, confirm %s, initial grace %v, ask wait %v, probe spacing %v, authenticated %v, carrier reported up to %v late",
		interval, dead, hold, confirm, grace, askWait, spacing, keyed, w.carrierDelay)
	for _, n := range w.nodes {
		res.Config += fmt.Sprintf("; standby %s priority %d", n.name, n.prio)
	}
	if w.arb != nil {
		res.Config += "; " + w.arb.String()
	}
	for _, ln := range []string{linkPriv, linkPub} {
		l := w.links[ln]
		res.Config += fmt.Sprintf("; %s loss from the primary %.1f%%", ln, 100*l.conds[w.p.name].loss)
		for _, n := range w.nodes {
			res.Config += fmt.Sprintf(", from %s %.1f%%", n.name, 100*l.conds[n.name].loss)
		}
	}
	w.check = newChecker(w, b)

	w.c.cache[w.addr] = w.p.port(linkPub).mac

	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{w: w, ctx: ctx, hbCfg: hbCfg, b: b, rng: w.rng("scenario"), ops: make(chan func(), 64)}
	var bg sync.WaitGroup
	var limit time.Duration // set once the faults are planned
	bg.Go(func() {
		// The promises, whatever happens; and a scenario that does not
		// end (its loop blocked) fails instead of running for ever.
		every(ctx, 5*time.Millisecond, func() {
			over := false
			r.locked(func() {
				if over = limit > 0 && w.since() > limit; over {
					w.check.fail("the scenario did not end by %v", limit)
				}
			})
			if over {
				cancel()
			}
		})
	})
	bg.Go(func() { every(ctx, 200*time.Millisecond, r.client) })
	bg.Go(func() { r.operator(ctx) })

	r.startHB()
	for _, n := range w.nodes {
		r.startFO(n)
	}
	end := r.planFaults(grace + 2*b.Timeout + time.Second)
	settle := 3*b.Timeout + b.HoldDown + b.Reaction + 2*time.Second + time.Duration(rise+1)*checkEvery
	if w.arb != nil {
		// An election, and every lease let go and granted again.
		settle += 2*w.arb.granted + 2*w.arb.elect
	}
	r.locked(func() { limit = end + settle + time.Minute })
	done := false
	r.at(end+settle, "every fault is over: the moves must have settled", func() {
		r.locked(func() { w.check.settledLocked() })
		done = true
	})
	r.play()
	if !done {
		r.locked(func() { w.check.fail("the scenario ended early") })
	}
	for _, n := range w.nodes {
		r.stopFO(n, false)
	}
	r.stopHB(false)
	cancel()
	bg.Wait()

	w.mu.Lock()
	defer w.mu.Unlock()
	res.Breach, res.At = w.check.breach, w.check.breachAt
	res.Timeline, res.Plan, res.Took, res.Takeovers, res.Standbys = tl.String(), r.plan, w.since(), w.check.taken, len(w.nodes)
	res.LowerTook, res.Pairs = w.check.lowerTook, w.check.pairsSeen
	if w.check.before != "" {
		res.Timeline = w.check.before // the events up to the breach
	}
	return res
}

// every calls f every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// client is a host on the public LAN, called every 200ms: while the MAC
// it has for the address does not answer, it asks again, as a kernel's
// neighbour cache would.
func (r *runner) client() {
	w := r.w
	w.mu.Lock()
	defer w.mu.Unlock()
	mac := w.c.cache[w.addr]
	for _, p := range w.links[linkPub].ports {
		if p.mac.String() == mac.String() && p.answersFor(w.addr) {
			return
		}
	}
	w.arpAskLocked(w.c.port(linkPub), w.addr)
}
