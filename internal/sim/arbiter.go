package sim

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/config"
)

// etcd is the arbiter of a seed that has one (FAILOVER_ARBITER): the
// in-memory etcd (arbiter.Memory), whose leases expire on the bubble's
// clock, behind each daemon's real arbiter.Client. The members sit on a
// management network of their own: the faults of the heartbeat links do
// not reach it, those of this file do (a host cut from the majority, one
// way or both; members stopped, the leader among them, or all).
type etcd struct {
	m       *arbiter.Memory
	ttl     time.Duration // FAILOVER_ARBITER_TTL
	granted time.Duration // what the members grant for it
	elect   time.Duration // the members' election timeout
	keep    bool          // FAILOVER_ARBITER_LOST=keep
	prefix  string

	// cuts: each host's cuts from the majority under way, the latest
	// in force (w.mu).
	cuts map[string][]arbiter.Cut
	// stopped: how many faults keep each member stopped (w.mu).
	stopped []int
	// acked: the send time of each lease's last acknowledged grant or
	// renewal, as its client saw it (w.mu): its holder's deadline.
	acked map[arbiter.LeaseID]time.Time
	// runOf: the daemon's run that was granted each lease (w.mu).
	runOf map[arbiter.LeaseID]*proc
	// keyLease: the lease the address's key was last seen under (w.mu).
	keyLease arbiter.LeaseID
	// refusedAt: when each host last found every member refusing it
	// (w.mu): with keep, it keeps its addresses past its lease.
	refusedAt map[string]time.Time
}

func (e *etcd) addrKey(ip netip.Addr) string { return e.prefix + "/addr/" + ip.String() }
func (e *etcd) nodeKey(name string) string   { return e.prefix + "/node/" + name }

// cutOf is how h reaches the majority now (w.mu).
func (e *etcd) cutOf(h *host) arbiter.Cut {
	if cs := e.cuts[h.name]; len(cs) > 0 {
		return cs[len(cs)-1]
	}
	return arbiter.Connected
}

// deadline is when the holder of lease id must be rid of its addresses:
// the send time of its last acknowledged renewal, plus the TTL granted,
// minus the margin (arbiter.Margin); zero when no renewal of it was
// acknowledged (w.mu).
func (e *etcd) deadline(id arbiter.LeaseID) time.Time {
	at, ok := e.acked[id]
	if !ok {
		return time.Time{}
	}
	return at.Add(e.granted - arbiter.Margin(e.granted))
}

// arbiterConfig draws a seed's arbiter, or none (nil), from a stream of
// its own, and sets its keys in kv (both daemons').
func (w *World) arbiterConfig(kv ...map[string]string) *etcd {
	ar := w.rng("arbiter")
	if ar.IntN(3) != 0 {
		return nil
	}
	e := &etcd{ttl: pick(ar, 2*time.Second, 3*time.Second, 5*time.Second),
		elect: pick(ar, 100*time.Millisecond, 500*time.Millisecond, time.Second),
		keep:  ar.IntN(2) == 0, prefix: arbiter.DefaultPrefix,
		cuts: map[string][]arbiter.Cut{}, stopped: make([]int, 3), acked: map[arbiter.LeaseID]time.Time{},
		refusedAt: map[string]time.Time{}, runOf: map[arbiter.LeaseID]*proc{}}
	e.m = arbiter.NewMemory(arbiter.MemoryConfig{Members: 3, ElectionTimeout: e.elect})
	// etcd's rounding: whole seconds, at least 1.5 election timeouts.
	least := (e.elect*3/2 + time.Second - 1).Truncate(time.Second)
	e.granted = max(e.ttl, least)
	lost := "release"
	if e.keep {
		lost = "keep"
	}
	for _, m := range kv {
		// Never dialled: the daemons are given clients over e.m.
		m[config.KeyArbiter] = "http://203.0.113.11:2379 http://203.0.113.12:2379 http://203.0.113.13:2379"
		m[config.KeyArbiterTTL] = e.ttl.String()
		m[config.KeyArbiterLost] = lost
	}
	return e
}

func (e *etcd) String() string {
	lost := "release"
	if e.keep {
		lost = "keep"
	}
	return fmt.Sprintf("arbiter: three etcd members in memory, election timeout %v, TTL %v (granted %v), lost %s", e.elect, e.ttl, e.granted, lost)
}

// arbiterClient is the arbiter's client of a daemon's run pr, as role,
// over its own connection to the members; nil without an arbiter.
func (w *World) arbiterClient(pr *proc, c *config.Config, role string, log *slog.Logger) arbiter.Quorum {
	if w.arb == nil {
		return nil
	}
	cl, err := arbiter.New(arbConn{w: w, pr: pr, conn: w.arb.m.Conn(pr.host.name)}, arbiter.ConfigOf(c, role, log))
	if err != nil {
		panic(err) // the configuration was loaded: a name without '/'
	}
	return cl
}

// arbConn is a daemon's connection to the members (arbiter.Backend): as
// the process and its host allow. A frozen failoverd sends nothing until
// it thaws; a killed process nothing at all (its lease expires on the
// server); a hung or powered-off host's calls go unanswered.
type arbConn struct {
	w    *World
	pr   *proc
	conn *arbiter.MemoryConn
}

var _ arbiter.Backend = arbConn{}

// out lets a call leave the process, or says why not.
func (a arbConn) out(ctx context.Context) error {
	a.pr.pass(&a.pr.frozen)
	return a.back(ctx)
}

// back lets its answer in, or says why not.
func (a arbConn) back(ctx context.Context) error {
	w := a.w
	w.mu.Lock()
	dead, up := a.pr.dead, a.pr.host.up()
	w.mu.Unlock()
	switch {
	case dead:
		return errGone
	case !up:
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// acked records a lease's acknowledged grant or renewal sent at sent.
func (a arbConn) acked(id arbiter.LeaseID, sent time.Time) {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	a.w.arb.acked[id] = sent
}

func (a arbConn) Grant(ctx context.Context, ttl time.Duration) (arbiter.LeaseID, time.Duration, error) {
	sent := time.Now()
	if err := a.out(ctx); err != nil {
		return 0, 0, err
	}
	id, granted, err := a.conn.Grant(ctx, ttl)
	if err == nil {
		err = a.back(ctx)
	}
	if err != nil {
		return 0, 0, err
	}
	a.acked(id, sent)
	a.w.mu.Lock()
	a.w.arb.runOf[id] = a.pr
	a.w.mu.Unlock()
	return id, granted, nil
}

func (a arbConn) KeepAlive(ctx context.Context, id arbiter.LeaseID) (time.Duration, error) {
	sent := time.Now()
	if err := a.out(ctx); err != nil {
		return 0, err
	}
	ttl, err := a.conn.KeepAlive(ctx, id)
	if err == nil {
		err = a.back(ctx)
	}
	if err != nil {
		return 0, err
	}
	a.acked(id, sent)
	return ttl, nil
}

func (a arbConn) Revoke(ctx context.Context, id arbiter.LeaseID) error {
	if err := a.out(ctx); err != nil {
		return err
	}
	if err := a.conn.Revoke(ctx, id); err != nil {
		return err
	}
	return a.back(ctx)
}

func (a arbConn) Claim(ctx context.Context, key, value string, lease, from arbiter.LeaseID) (arbiter.KV, error) {
	if err := a.out(ctx); err != nil {
		return arbiter.KV{}, err
	}
	kv, err := a.conn.Claim(ctx, key, value, lease, from)
	if err == nil {
		err = a.back(ctx)
	}
	if err != nil {
		return arbiter.KV{}, err
	}
	return kv, nil
}

func (a arbConn) Release(ctx context.Context, key, value string, lease arbiter.LeaseID) (arbiter.KV, bool, error) {
	if err := a.out(ctx); err != nil {
		return arbiter.KV{}, false, err
	}
	found, deleted, err := a.conn.Release(ctx, key, value, lease)
	if err == nil {
		err = a.back(ctx)
	}
	if err != nil {
		return arbiter.KV{}, false, err
	}
	return found, deleted, nil
}

func (a arbConn) Put(ctx context.Context, key, value string, lease arbiter.LeaseID) error {
	if err := a.out(ctx); err != nil {
		return err
	}
	if err := a.conn.Put(ctx, key, value, lease); err != nil {
		return err
	}
	return a.back(ctx)
}

func (a arbConn) List(ctx context.Context, prefix string) ([]arbiter.KV, error) {
	if err := a.out(ctx); err != nil {
		return nil, err
	}
	kvs, err := a.conn.List(ctx, prefix)
	if err == nil {
		err = a.back(ctx)
	}
	if err != nil {
		return nil, err
	}
	return kvs, nil
}

func (a arbConn) Members(ctx context.Context) arbiter.MemberCount {
	if a.out(ctx) != nil {
		return arbiter.MemberCount{Total: 3} // every member silent
	}
	n := a.conn.Members(ctx)
	if a.back(ctx) != nil {
		return arbiter.MemberCount{Total: 3}
	}
	return n
}

// The arbiter's faults, drawn only in the seeds that have one.

// etcdCut cuts h from the majority the way how says (Connected: the
// cut ends) until the end it returns.
func (r *runner) etcdCut(h *host, how arbiter.Cut) func() {
	e := r.w.arb
	r.locked(func() {
		e.cuts[h.name] = append(e.cuts[h.name], how)
		e.m.Cut(h.name, e.cutOf(h))
	})
	return func() {
		r.locked(func() {
			cs := e.cuts[h.name]
			for i := len(cs) - 1; i >= 0; i-- {
				if cs[i] == how {
					e.cuts[h.name] = append(cs[:i:i], cs[i+1:]...)
					break
				}
			}
			e.m.Cut(h.name, e.cutOf(h))
		})
	}
}

// etcdStop stops the members named until the end it returns.
func (r *runner) etcdStop(members ...int) func() {
	e := r.w.arb
	set := func(on int) {
		r.locked(func() {
			for _, i := range members {
				e.stopped[i] += on
				if e.stopped[i] > 0 {
					e.m.StopMember(i)
				} else {
					e.m.StartMember(i)
				}
			}
		})
	}
	set(1)
	return func() { set(-1) }
}

var arbiterFaults = []fault{
	{name: "etcd cut", weight: 4, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// A host cut from the majority on the management network: its
		// requests lost, refused, or arriving with their answers lost.
		h := r.host()
		how := pick(r.rng, arbiter.DropRequests, arbiter.RefuseRequests, arbiter.DropAnswers)
		return r.etcdCut(h, how), fmt.Sprintf("the %s is cut from the etcd majority (%v)", h.name, how)
	}},
	{name: "etcd member", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// One member stops (member 0 leads while it is up).
		i := r.rng.IntN(3)
		return r.etcdStop(i), fmt.Sprintf("etcd member %d stops", i)
	}},
	{name: "etcd majority", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		i := r.rng.IntN(3)
		return r.etcdStop(i, (i+1)%3), fmt.Sprintf("etcd members %d and %d stop: no majority", i, (i+1)%3)
	}},
	{name: "etcd down", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		return r.etcdStop(0, 1, 2), "every etcd member stops"
	}},
	{name: "holder cut", weight: 3, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// The primary's power goes off; once a standby took its
		// address (or halfway, if none did), the holder is cut from
		// the majority: it must be rid of the address before its
		// lease can expire, and the next standby may take it.
		r.power(r.w.p, true)
		how := pick(r.rng, arbiter.DropRequests, arbiter.RefuseRequests, arbiter.DropAnswers)
		var heal func()
		var cut func()
		end := r.w.since() + d
		cut = func() {
			var h *host
			r.locked(func() {
				for _, n := range r.w.nodes {
					if r.w.check.holds(n) {
						h = n.h
					}
				}
			})
			if h == nil && r.w.since() < end-d/2 {
				r.at(r.w.since()+50*time.Millisecond, "", cut)
				return
			}
			if h == nil {
				h = r.node().h
			}
			r.w.tl.add("scenario: the holder %s is cut from the etcd majority (%v)", h.name, how)
			heal = r.etcdCut(h, how)
		}
		cut()
		return func() {
			if heal != nil {
				heal()
			}
			r.power(r.w.p, false)
		}, fmt.Sprintf("the primary's power goes off, and the standby that takes its address is cut from the etcd majority (%v)", how)
	}},
	{name: "primary isolated", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// The primary cut from everyone, clients and the majority too,
		// carrier kept: its service address still up where nobody
		// hears it; it must be rid of it before its lease can expire.
		p := r.w.p
		r.locked(func() {
			for _, port := range p.ports {
				port.cut++
			}
		})
		heal := r.etcdCut(p, arbiter.DropRequests)
		return func() {
			heal()
			r.locked(func() {
				for _, port := range p.ports {
					port.cut--
				}
			})
		}, "the primary is cut from everyone: both links and the etcd majority (carrier kept)"
	}},
}

// The arbiter's promises (failoverd(8), ARBITER), checked with w.mu held
// in the seeds that have one, on what the members hold, whatever any cut.

// arbSlack is how long a daemon may take to act on what the members
// hold: the next round of its client (every TTL/6) and one call (bounded
// by TTL/6), and a little for the daemon.
func (e *etcd) slack() time.Duration { return e.ttl/3 + 200*time.Millisecond }

// holderOf names the holder of ip's key on the server, and its lease;
// "" when nobody holds it.
func (e *etcd) holderOf(ip netip.Addr) (string, arbiter.LeaseID) {
	kv, ok := e.m.Get(e.addrKey(ip))
	if !ok {
		return "", 0
	}
	return kv.Value, kv.Lease
}

// arbiterLocked checks, at every moment: a host that holds the address
// holds its key, so that the address outlives no lease on the server;
// with FAILOVER_ARBITER_LOST=release, it is rid of the address by its
// deadline; and a primary that renews its lease in host-address mode
// holds its address's key, so that no standby can claim it.
func (c *checker) arbiterLocked(now time.Time) {
	e := c.w.arb
	if e == nil {
		return
	}
	holder, lease := e.holderOf(c.w.addr)
	if holder != "" {
		e.keyLease = lease
	}
	track := func(t *time.Time, on bool) {
		if !on {
			*t = time.Time{}
		} else if t.IsZero() {
			*t = now
		}
	}
	track(&c.keyFreeSince, holder == "")
	_, pRenews := e.m.Get(e.nodeKey("primary"))
	leader := e.m.HasLeader()
	track(&c.pRenewsSince, pRenews && leader && c.hbRunning && c.w.p.up() && e.cutOf(c.w.p) == arbiter.Connected)
	down := true
	for _, st := range e.stopped {
		down = down && st > 0
	}
	for _, h := range c.w.hosts {
		if down || e.cutOf(h) == arbiter.RefuseRequests {
			e.refusedAt[h.name] = now
		}
	}
	for _, n := range c.w.nodes {
		_, live := e.m.Get(e.nodeKey(n.name))
		track(&n.arbReadySince, live && leader && e.cutOf(n.h) == arbiter.Connected && n.running && n.h.up() && n.frozen == 0)
	}
	check := func(who string, h *host, pr *proc, from, ready time.Time) {
		if !h.up() || !h.port(linkPub).held[c.w.addr] || now.Sub(from) <= e.slack() {
			return
		}
		if at, ok := e.refusedAt[h.name]; e.keep && ok && now.Sub(at) <= e.granted+e.slack() {
			// With keep, a holder that every member refuses keeps its
			// addresses, and its lease, until etcd answers again, and
			// for the TTL less the margin after the last round every
			// member refused (failoverd(8): a refusal by a firewall rule
			// looks the same as etcd down, and the lease may expire
			// meanwhile; the others add nothing while it answers); then
			// it claims the key again, or gives the address up.
			return
		}
		// Under a lease of an earlier run of the daemon (killed, and
		// started again), the key is adopted under the new run's lease
		// at its first round through the majority; a run that starts
		// cut from it claims the key once that lease has expired
		// (failoverd(8), ARBITER: two hosts of one name).
		earlier := e.runOf[e.keyLease] != pr
		if holder == who && earlier && !ready.IsZero() && now.Sub(later(from, ready)) > e.slack() {
			c.fail("%s holds %s under its earlier run's lease %v after it reached the majority: the key is not adopted", who, c.w.addr,
				now.Sub(later(from, ready)).Round(time.Millisecond))
			return
		}
		if holder != who && !(holder == "" && earlier && now.Sub(c.keyFreeSince) <= e.slack()) {
			name := holder
			if name == "" {
				name = "nobody (its lease gone on the server)"
			}
			c.fail("%s holds %s, and the arbiter names %s as the holder of its key", who, c.w.addr, name)
			return
		}
		if dl := e.deadline(lease); !e.keep && !earlier && !dl.IsZero() && now.Sub(dl) > 100*time.Millisecond {
			c.fail("%s holds %s %v past its lease's deadline (FAILOVER_ARBITER_LOST=release)", who, c.w.addr, now.Sub(dl).Round(time.Millisecond))
		}
	}
	for _, n := range c.w.nodes {
		// A failoverd that is not running (killed), or frozen, cannot
		// remove the address: its kernel keeps it, as without an
		// arbiter (failoverd(8)); thawed, it removes it at once.
		if n.running && n.frozen == 0 {
			check(n.name, n.h, n.proc, later(n.started, n.thawedAt), n.arbReadySince)
		}
	}
	if c.b.Service && c.hbRunning {
		check("primary", c.w.p, c.w.hbProc, c.hbStarted, c.pRenewsSince)
	}
	if !c.b.Service && !c.pRenewsSince.IsZero() {
		if from := later(c.pRenewsSince, c.keyFreeSince); !c.keyFreeSince.IsZero() && now.Sub(from) > e.slack() {
			c.fail("the primary has renewed its lease for %v and nobody has held the key of %s for %v", now.Sub(c.pRenewsSince).Round(time.Millisecond),
				c.w.addr, now.Sub(c.keyFreeSince).Round(time.Millisecond))
		}
	}
}

// arbiterAddLocked checks an add by h (a standby, or the primary's
// heartbeatd in service-address mode): it holds the address's key.
func (c *checker) arbiterAddLocked(who string) {
	e := c.w.arb
	if e == nil {
		return
	}
	if holder, _ := e.holderOf(c.w.addr); holder != who {
		c.fail("%s added %s, and the arbiter names %q as the holder of its key", who, c.w.addr, holder)
	}
}

// arbiterFrom is when the standby n can take a dead primary's address
// with an arbiter: once the key is free on the server (the primary's
// lease expired, or it let it go) and n has had a live lease through a
// majority with a leader, and a round of its client more.
func (c *checker) arbiterFrom(n *node) (time.Time, bool) {
	e := c.w.arb
	if e == nil {
		return time.Time{}, true
	}
	if c.keyFreeSince.IsZero() || n.arbReadySince.IsZero() {
		return time.Time{}, false
	}
	return later(c.keyFreeSince, n.arbReadySince).Add(e.slack()), true
}

// arbiterLetGo says the standby n may remove the address before its
// give-back's hooks (failoverd(8), ARBITER): its lease is past its
// deadline, or the arbiter names another holder of the key.
func (c *checker) arbiterLetGo(n *node) bool {
	e := c.w.arb
	if e == nil {
		return false
	}
	holder, lease := e.holderOf(c.w.addr)
	if holder != n.name {
		return true
	}
	dl := e.deadline(lease)
	return !dl.IsZero() && !time.Now().Before(dl)
}
