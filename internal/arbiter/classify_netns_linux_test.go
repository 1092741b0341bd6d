package arbiter_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/lab"
)

// classifyChild: set in the environment of this test binary run inside
// a lab host's namespace, the endpoints of the members; the run is then
// a holder's arbiter client, not the test.
const classifyChild = "IPFAILOVER_TEST_CLASSIFY_ENDPOINTS"

// sample is one look at the child's client.
type sample struct {
	At           time.Time
	Answering    int
	Refusing     int
	Members      int
	Reachable    bool
	Lease        arbiter.LeaseID
	LeasesLost   int
	Deadline     time.Time
	DownDeadline time.Time
}

// runClassifyChild runs a Client (FAILOVER_ARBITER_LOST=keep, default
// TTL) and prints a sample every 50 ms until stdin closes.
func runClassifyChild(endpoints string) {
	e, err := arbiter.DialEtcd(arbiter.EtcdConfig{Endpoints: strings.Fields(endpoints), DialTimeout: 2 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c, err := arbiter.New(e, arbiter.Config{Node: "s1", Role: "primary", KeepPastDeadline: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	go func() { _ = c.Run(ctx) }()
	enc := json.NewEncoder(os.Stdout)
	for ctx.Err() == nil {
		st := c.Status()
		_ = enc.Encode(sample{At: time.Now(), Answering: st.Answering, Refusing: st.Refusing, Members: st.Members,
			Reachable: st.Reachable, Lease: st.Lease, LeasesLost: st.LeasesLost, Deadline: st.Deadline, DownDeadline: c.DownDeadline()})
		time.Sleep(50 * time.Millisecond)
	}
	os.Exit(0)
}

func TestMain(m *testing.M) {
	if eps := os.Getenv(classifyChild); eps != "" {
		runClassifyChild(eps)
	}
	os.Exit(m.Run())
}

// samples collects the child's samples.
type samples struct {
	mu  sync.Mutex
	all []sample
}

func (s *samples) since(from time.Time) []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sample
	for _, x := range s.all {
		if !x.At.Before(from) {
			out = append(out, x)
		}
	}
	return out
}

func (s *samples) last() sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		return sample{}
	}
	return s.all[len(s.all)-1]
}

// A holder's member count under what the management network may do:
// a silent cut (drop, either way or one way) never reads as "every
// member refuses" (which, with FAILOVER_ARBITER_LOST=keep, would keep
// its addresses past its deadline while the others may claim them),
// whatever the connection's user timeout does; a reject does, as the
// manual says.
func TestASilentCutNeverReadsAsEveryMemberRefusing(t *testing.T) {
	c := lab.NewCluster(t, lab.ClusterOptions{Standbys: 1, Etcd: true})
	h := c.Primary
	var members []*lab.Host
	for _, m := range c.Etcd.Members {
		members = append(members, m.Host)
	}
	s := startChild(t, h, c.Etcd.Endpoints())
	healthy := func(what string) {
		t.Helper()
		if !lab.WaitFor(5*time.Second, func() bool { x := s.last(); return x.Answering == 3 && x.Reachable && x.Lease != 0 }) {
			t.Fatalf("%s: the client does not find every member answering: %+v", what, s.last())
		}
	}
	healthy("at the start")
	lease := s.last().Lease

	// Each fault for 2.5 s (past the user timeout, and past several
	// reconnection attempts), then healed.
	const hold = 2500 * time.Millisecond
	dst := "{ " + lab.EtcdAddr(1) + ", " + lab.EtcdAddr(2) + ", " + lab.EtcdAddr(3) + " }"
	nftFault := func(rule string) func() {
		h.MustRun("nft", "add table inet adv_fault")
		h.MustRun("nft", "add chain inet adv_fault out { type filter hook output priority 0; policy accept; }")
		h.MustRun("nft", "add chain inet adv_fault in { type filter hook input priority 0; policy accept; }")
		h.MustRun("sh", "-c", "nft '"+rule+"'")
		return func() { h.MustRun("nft", "delete table inet adv_fault") }
	}
	for _, f := range []struct {
		name    string
		refuses bool // every member should read as refusing
		start   func() func()
	}{
		{"silent cut at the switch", false, func() func() {
			c.Cut([]*lab.Host{h}, members)
			return func() { c.HealAll() }
		}},
		{"requests dropped", false, func() func() { return nftFault("add rule inet adv_fault out ip daddr " + dst + " drop") }},
		{"answers dropped", false, func() func() { return nftFault("add rule inet adv_fault in ip saddr " + dst + " drop") }},
		{"icmp host-unreachable", false, func() func() {
			return nftFault("add rule inet adv_fault out ip daddr " + dst + " reject with icmp type host-unreachable")
		}},
		{"icmp admin-prohibited", false, func() func() {
			return nftFault("add rule inet adv_fault out ip daddr " + dst + " reject with icmp type admin-prohibited")
		}},
		{"tcp reset", true, func() func() {
			return nftFault("add rule inet adv_fault out ip daddr " + dst + " tcp dport 2379 reject with tcp reset")
		}},
		{"icmp port-unreachable", true, func() func() {
			return nftFault("add rule inet adv_fault out ip daddr " + dst + " reject with icmp type port-unreachable")
		}},
	} {
		from := time.Now()
		heal := f.start()
		time.Sleep(hold) // the fault's length: what the test is about
		heal()
		healed := time.Now()
		healthy("after " + f.name)
		var refusing, silent int
		var maxDown time.Time
		for _, x := range s.since(from) {
			if x.At.After(healed) {
				break
			}
			if x.Members > 0 && x.Refusing == x.Members {
				refusing++
			}
			if x.Answering == 0 && x.Refusing == 0 {
				silent++
			}
			if x.DownDeadline.After(maxDown) {
				maxDown = x.DownDeadline
			}
		}
		t.Logf("%s for %v: %d samples with every member refusing, %d with every member silent; down deadline %v", f.name, hold, refusing, silent, maxDown.Format("15:04:05.000"))
		if f.refuses && refusing == 0 {
			t.Errorf("%s: no sample found every member refusing", f.name)
		}
		if !f.refuses && refusing > 0 {
			t.Errorf("%s: %d samples found every member refusing: a silent cut read as etcd down", f.name, refusing)
		}
		if x := s.last(); x.Lease != lease || x.LeasesLost != 0 {
			t.Logf("after %s the lease is %x (%d lost), was %x", f.name, x.Lease, x.LeasesLost, lease)
			lease = x.Lease
		}
		time.Sleep(time.Second)
	}
}

// startChild runs the client of runClassifyChild in h over endpoints and
// collects its samples.
func startChild(t *testing.T, h *lab.Host, endpoints []string) *samples {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.Command("env", classifyChild+"="+strings.Join(endpoints, " "), exe)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	s := &samples{}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var x sample
			if json.Unmarshal(sc.Bytes(), &x) == nil {
				s.mu.Lock()
				s.all = append(s.all, x)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// A holder whose FAILOVER_ARBITER names one member (a single arbiter
// host), cut from it in silence just before a renewal was due (its
// deadline then T - T/6 - the margin after the cut, 2 s), for 0.5 s or
// 1 s, then healed: it keeps its lease. Its connection, left hanging
// with a renewal unacknowledged, is dropped at the user timeout and made
// again; an attempt into the cut lasts until TCP's first SYN
// retransmission, a second, which the user timeout does not shorten, so
// the renewal after the heal comes about 1.75 s after the cut, whatever
// its length up to that: failoverd(8), "When etcd is unreachable".
func TestABlipOfAHolderWithOneMemberKeepsItsLease(t *testing.T) {
	c := lab.NewCluster(t, lab.ClusterOptions{Standbys: 1, Etcd: true})
	h := c.Primary
	m := c.Etcd.Members[0]
	s := startChild(t, h, []string{m.ClientURL})
	if !lab.WaitFor(5*time.Second, func() bool { x := s.last(); return x.Reachable && x.Lease != 0 }) {
		t.Fatalf("the client does not reach the member: %+v", s.last())
	}
	round := arbiter.DefaultTTL / 6
	for _, blip := range []time.Duration{500 * time.Millisecond, time.Second} {
		x := s.last()
		lease, lost := x.Lease, x.LeasesLost
		// Just after a renewal was acknowledged (the deadline moved),
		// plus most of a round: the cut comes just before the next.
		d0 := x.Deadline
		if !lab.WaitFor(2*round, func() bool { return s.last().Deadline.After(d0) }) {
			t.Fatalf("no renewal within two rounds: %+v", s.last())
		}
		time.Sleep(round - 100*time.Millisecond) // the cut's phase against the rounds: what the test is about
		deadline := s.last().Deadline
		c.Cut([]*lab.Host{h}, []*lab.Host{m.Host})
		cut := time.Now()
		time.Sleep(blip) // the blip's length: what the test is about
		c.HealAll()
		healed := time.Now()
		var back sample
		ok := lab.WaitFor(3*time.Second, func() bool {
			back = s.last()
			return back.At.After(healed) && back.Reachable
		})
		t.Logf("a cut of %v, %v before the deadline: reachable again %v after the cut (%v after the heal, %v before the deadline); lease %x, lost %d",
			blip, deadline.Sub(cut).Round(time.Millisecond), back.At.Sub(cut).Round(time.Millisecond), back.At.Sub(healed).Round(time.Millisecond),
			deadline.Sub(back.At).Round(time.Millisecond), back.Lease, back.LeasesLost)
		if !ok || back.LeasesLost != lost || back.Lease != lease {
			t.Errorf("a cut of %v (healed %v before the deadline): reachable again %v after the heal (ok %v), lease %x (was %x), %d lost (were %d); want the lease kept",
				blip, deadline.Sub(healed).Round(time.Millisecond), back.At.Sub(healed).Round(time.Millisecond), ok, back.Lease, lease, back.LeasesLost, lost)
		}
		if !lab.WaitFor(3*time.Second, func() bool { x := s.last(); return x.Reachable && x.Lease != 0 }) {
			t.Fatalf("not reachable after the cut: %+v", s.last())
		}
	}
}
