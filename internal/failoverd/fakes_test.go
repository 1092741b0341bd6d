package failoverd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/fdtimer"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// source delivers the packets a test sends it, from its own goroutine,
// as the monitor's reader does.
type source struct {
	in    chan []monitor.Heard
	mu    sync.Mutex
	count map[string]uint64
	// unread: packets that arrived while the reader was busy; only
	// Drain takes them.
	unread [][]monitor.Heard
	// more: what the monitor says of a link besides the count (drops,
	// the sender's epoch and name), as a test sets it.
	more map[string]monitor.LinkStats
	old  chan monitor.OldRun
}

// setStats sets what Stats says of link besides its count.
func (s *source) setStats(link string, st monitor.LinkStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.more == nil {
		s.more = map[string]monitor.LinkStats{}
	}
	s.more[link] = st
}

func newSource() *source {
	return &source{in: make(chan []monitor.Heard), count: map[string]uint64{}, old: make(chan monitor.OldRun)}
}

func (s *source) Run(ctx context.Context, deliver func([]monitor.Heard)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case hs := <-s.in:
			s.mu.Lock()
			for _, h := range hs {
				s.count[h.Link]++
			}
			s.mu.Unlock()
			deliver(hs)
		}
	}
}

func (s *source) Drain(deliver func([]monitor.Heard)) {
	s.mu.Lock()
	unread := s.unread
	s.unread = nil
	for _, hs := range unread {
		for _, h := range hs {
			s.count[h.Link]++
		}
	}
	s.mu.Unlock()
	for _, hs := range unread {
		deliver(hs)
	}
}

// OldRuns: a test sends on s.old.
func (s *source) OldRuns() <-chan monitor.OldRun { return s.old }

func (s *source) Stats() map[string]monitor.LinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]monitor.LinkStats{}
	for l, st := range s.more {
		st.Dropped = maps.Clone(st.Dropped)
		out[l] = st
	}
	for l, n := range s.count {
		st := out[l]
		st.Received = n
		out[l] = st
	}
	return out
}

// hookCall is one stage run for one address.
type hookCall struct {
	stage  hooks.Stage
	addr   string
	action string
	reason string
}

// fakeHooks runs no process: each stage returns one hook's result, the
// exit code set for it (0 by default) or the error set for it, or none
// when its folder holds no hook; a stage that is gated waits until the
// test opens the gate.
type fakeHooks struct {
	mu    sync.Mutex
	calls []hookCall
	exit  map[hooks.Stage]int
	fail  map[hooks.Stage]error
	gate  map[hooks.Stage]chan struct{}
	none  map[hooks.Stage]bool
}

func newHooks() *fakeHooks {
	return &fakeHooks{exit: map[hooks.Stage]int{}, fail: map[hooks.Stage]error{}, gate: map[hooks.Stage]chan struct{}{}, none: map[hooks.Stage]bool{}}
}

func (f *fakeHooks) Run(ctx context.Context, stage hooks.Stage, env hooks.Env) ([]hooks.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, hookCall{stage, env.Address.String(), env.Action, env.Reason})
	gate, exit, err, none := f.gate[stage], f.exit[stage], f.fail[stage], f.none[stage]
	f.mu.Unlock()
	start := time.Now()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	if err != nil || none {
		return nil, err
	}
	return []hooks.Result{{Stage: stage, Name: string(stage) + "10.fake", Exit: exit, Started: start, Duration: time.Since(start)}}, nil
}

func (f *fakeHooks) stages() []hooks.Stage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hooks.Stage
	for _, c := range f.calls {
		out = append(out, c.stage)
	}
	return out
}

// lastReason is the reason the stage's last run was given.
func (f *fakeHooks) lastReason(stage hooks.Stage) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].stage == stage {
			return f.calls[i].reason
		}
	}
	return ""
}

func (f *fakeHooks) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// notices records every notice.
type notices struct {
	mu  sync.Mutex
	got []notify.Notice
}

func (n *notices) Notify(e notify.Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, e)
}

func (n *notices) all() []notify.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.got)
}

func (n *notices) kinds() []notice.Kind {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []notice.Kind
	for _, e := range n.got {
		out = append(out, e.Kind)
	}
	return out
}

func (n *notices) last(kind notice.Kind) (notify.Notice, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.got) - 1; i >= 0; i-- {
		if n.got[i].Kind == kind {
			return n.got[i], true
		}
	}
	return notify.Notice{}, false
}

// peer records the datagrams sent to the primary; while fail is set,
// none goes and Send returns it.
type peer struct {
	mu   sync.Mutex
	sent [][]byte
	fail error
}

func (p *peer) Send(b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.sent = append(p.sent, slices.Clone(b))
	return nil
}

func (p *peer) packets(t *testing.T, keys *wire.Keyring) []wire.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wire.Packet
	for _, b := range p.sent {
		pk, err := keys.Open(b)
		if err != nil {
			t.Fatalf("released does not open: %v", err)
		}
		out = append(out, pk)
	}
	return out
}

// ofType returns the packets of typ sent so far.
func (p *peer) ofType(t *testing.T, keys *wire.Keyring, typ wire.Type) []wire.Packet {
	return slices.DeleteFunc(p.packets(t, keys), func(pk wire.Packet) bool { return pk.Type != typ })
}

// GoClock is the wall clock with one of Go's timers, which
// testing/synctest's fake clock drives.
type GoClock struct{}

func (GoClock) Now() time.Time { return time.Now() }

func (GoClock) NewTimer(first time.Duration) fdtimer.Timer { return fdtimer.NewGo(first, 0) }

// timerCounts counts how often the deadline timer is set and how often
// it fires (each firing wakes the process).
type timerCounts struct {
	mu            sync.Mutex
	resets, fires int
}

func (c *timerCounts) get() (resets, fires int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets, c.fires
}

func (c *timerCounts) zero() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resets, c.fires = 0, 0
}

// countingClock makes timers that count into counts.
type countingClock struct {
	GoClock
	counts *timerCounts
}

// countingTimer passes the inner timer's expiries on, counting them.
type countingTimer struct {
	fdtimer.Timer
	counts *timerCounts
	c      chan time.Time
	done   chan struct{}
}

func (c countingClock) NewTimer(first time.Duration) fdtimer.Timer {
	t := &countingTimer{Timer: c.GoClock.NewTimer(first), counts: c.counts, c: make(chan time.Time), done: make(chan struct{})}
	go func() {
		for {
			select {
			case at := <-t.Timer.C():
				t.counts.mu.Lock()
				t.counts.fires++
				t.counts.mu.Unlock()
				select {
				case t.c <- at:
				case <-t.done:
					return
				}
			case <-t.done:
				return
			}
		}
	}()
	return t
}

func (t *countingTimer) C() <-chan time.Time { return t.c }

func (t *countingTimer) Reset(first, interval time.Duration) {
	t.counts.mu.Lock()
	t.counts.resets++
	t.counts.mu.Unlock()
	t.Timer.Reset(first, interval)
}

func (t *countingTimer) Stop() {
	t.Timer.Stop()
	close(t.done)
}

// logBuffer keeps the runtime's log, one text record a line.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the records that hold every one of parts.
func (l *logBuffer) lines(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			out = append(out, line)
		}
	}
	return out
}

// world is a runtime with fakes at every edge.
type world struct {
	t       *testing.T
	d       *Daemon
	src     *source
	hooks   *fakeHooks
	manager *takeover.Fake
	mover   *takeover.Mover
	notices *notices
	peer    *peer
	keys    *wire.Keyring
	addr    takeover.Address
	cancel  context.CancelFunc
	done    chan error
	timer   timerCounts
	logs    *logBuffer
	// lastBeat is when the last heartbeat was delivered.
	lastBeat time.Time
	// carrier: changes of a link's carrier, as the watch reports them;
	// an error on carrierFail ends the watch with it.
	carrier     chan carrierChange
	carrierFail chan error
}

type carrierChange struct {
	link string
	up   bool
}

const (
	interval = 100 * time.Millisecond
	timeout  = 3 * interval
	holdDown = 2 * time.Second
)

var links = []string{"priv0", "pub0"}

// senders are the primary's addresses its heartbeats come from, by link:
// on the public link its own address, not the one taken over (as with
// service addresses), so that a probe and a question can be told apart.
var senders = map[string]netip.Addr{"priv0": netip.MustParseAddr("192.0.2.1"), "pub0": netip.MustParseAddr("198.51.100.10")}

// newWorld starts a runtime inside a synctest bubble; held are the
// addresses the host holds at start.
func newWorld(t *testing.T, held bool, tune ...func(*Config)) *world {
	return newWorldAsking(t, held, nil, tune...)
}

// newWorldAsking is newWorld with an asker: failoverd asks who answers
// for the addresses before taking them.
func newWorldAsking(t *testing.T, held bool, asker *fakeAsker, tune ...func(*Config)) *world {
	return newWorldWith(t, held, asker, nil, tune...)
}

// newWorldWith is newWorldAsking with the host's interfaces: ifaces
// lists them (nil: the runtime does not look for them).
func newWorldWith(t *testing.T, held bool, asker *fakeAsker, ifaces *fakeInterfaces, tune ...func(*Config)) *world {
	return newWorldDeps(t, held, asker, ifaces, nil, tune...)
}

// newWorldDeps is newWorldWith with more collaborators: more sets them.
func newWorldDeps(t *testing.T, held bool, asker *fakeAsker, ifaces *fakeInterfaces, more func(*Deps), tune ...func(*Config)) *world {
	key, err := wire.NewKey([]byte("a key of thirty-two bytes, fine."), "test")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, src: newSource(), hooks: newHooks(), manager: takeover.NewFake(), notices: &notices{}, peer: &peer{},
		keys: wire.NewKeyring(key), addr: takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}}
	w.mover = &takeover.Mover{Manager: w.manager}
	cfg := Config{Node: "server2", Peer: netip.MustParseAddr("192.0.2.1"), Addresses: []takeover.Address{w.addr},
		Keys: func() *wire.Keyring { return w.keys },
		Machine: failover.Params{Links: links, DeadCount: 3, DefaultInterval: interval, InitialGrace: timeout,
			HoldDown: holdDown, AutoGiveBack: true}}
	if held {
		if err := w.manager.Acquire(context.Background(), w.addr); err != nil {
			t.Fatal(err)
		}
		cfg.Held = []takeover.Address{w.addr}
	}
	for _, f := range tune {
		f(&cfg)
	}
	w.logs = &logBuffer{}
	w.carrier, w.carrierFail = make(chan carrierChange), make(chan error)
	deps := Deps{Source: w.src, Mover: w.mover, Hooks: w.hooks, Notifier: w.notices, Released: w.peer,
		Clock: countingClock{counts: &w.timer}, Log: slog.New(slog.NewTextHandler(w.logs, nil)),
		Carrier: func(ctx context.Context, _ []string, report func(string, bool)) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case c := <-w.carrier:
					report(c.link, c.up)
				case err := <-w.carrierFail:
					return err
				}
			}
		}}
	if asker != nil {
		deps.Asker = asker
	}
	if ifaces != nil {
		deps.Interfaces = ifaces.list
	}
	if more != nil {
		more(&deps)
	}
	w.d = New(cfg, deps)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	go func() { w.done <- w.d.Run(ctx) }()
	t.Cleanup(w.stop)
	synctest.Wait()
	return w
}

// inConflict is a world whose primary was heard for a second and then
// fell silent while its host still answers for the address (heartbeatd
// killed on a live host): failoverd is in conflict.
func inConflict(t *testing.T) (*fakeAsker, *world) {
	t.Helper()
	a := newAsker()
	a.answering(primaryMAC)
	w := newWorldAsking(t, false, a)
	w.beatFor(time.Second)
	w.waitState(failover.Conflict, 2*time.Second)
	return a, w
}

// stop ends Run and waits for it; it runs again, doing nothing, at the
// test's cleanup.
func (w *world) stop() {
	w.cancel()
	if w.done == nil {
		return
	}
	if err := <-w.done; err != nil {
		w.t.Errorf("Run: %v", err)
	}
	w.done = nil
}

// beat delivers one heartbeat on each of on, now.
func (w *world) beat(on ...string) {
	w.lastBeat = time.Now()
	var hs []monitor.Heard
	for _, l := range on {
		hs = append(hs, monitor.Heard{Link: l, From: senders[l], At: time.Now(), Packet: wire.Packet{Type: wire.Heartbeat, Epoch: primaryEpoch, Interval: interval, HardwareAddr: primaryHW}})
	}
	w.src.in <- hs
	synctest.Wait()
}

// primaryHW is primaryMAC as the primary signs it in its heartbeats.
var primaryHW, _ = net.ParseMAC(primaryMAC)

// primaryEpoch is the epoch of the primary's heartbeats.
const primaryEpoch = 0x5eed0000cafe0001

// arrive queues heartbeats on each of on that the busy reader has not
// read: only a Drain finds them.
func (w *world) arrive(on ...string) {
	var hs []monitor.Heard
	for _, l := range on {
		hs = append(hs, monitor.Heard{Link: l, From: senders[l], At: time.Now(), Packet: wire.Packet{Type: wire.Heartbeat, Epoch: primaryEpoch, Interval: interval}})
	}
	w.src.mu.Lock()
	w.src.unread = append(w.src.unread, hs)
	w.src.mu.Unlock()
}

// goodbye delivers the primary's goodbye on link.
func (w *world) goodbye(link string) {
	w.src.in <- []monitor.Heard{{Link: link, At: time.Now(), Packet: wire.Packet{Type: wire.Goodbye, Epoch: primaryEpoch, Interval: interval}}}
	synctest.Wait()
}

// beatFor sends heartbeats on both links every interval for d.
func (w *world) beatFor(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		w.beat(links...)
		time.Sleep(interval)
	}
}

// waitState lets fake time pass until the state is s, for at most d.
func (w *world) waitState(s failover.State, d time.Duration) time.Duration {
	w.t.Helper()
	start := time.Now()
	for w.d.State() != s {
		if time.Since(start) > d {
			w.t.Fatalf("state %s after %v, want %s; notices %v", w.d.State(), d, s, w.notices.kinds())
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func (w *world) request(op failover.Op) control.Response {
	return w.d.Handle(context.Background(), control.Request{Op: op})
}

// requestAsync sends op from another goroutine; its answer comes on the
// channel.
func (w *world) requestAsync(op failover.Op) <-chan control.Response {
	c := make(chan control.Response, 1)
	go func() { c <- w.request(op) }()
	synctest.Wait()
	return c
}

func (w *world) holds() bool {
	held, err := w.manager.Held(context.Background(), []takeover.Address{w.addr})
	if err != nil {
		w.t.Fatal(err)
	}
	return len(held) == 1
}

var errUnsafe = errors.New("hook folder /etc/ipfailover/hooks/198.51.100.1 is writable by group or others")

// fakeAsker is the link as questions see it: while a MAC is set, every
// question is answered by it. It speaks the races the real asker has:
//   - an answer arrives delay after its question and then waits unread,
//     as in a socket's queue, until Run reads it or Drain takes it;
//   - Run can stall (reads nothing until told to go on) and fail (it
//     returns an error, as a listener whose socket broke);
//   - AskAll can stall too (a sender short of CPU);
//   - answers can arrive on another link than the question's (on).
type fakeAsker struct {
	mu         sync.Mutex
	mac        string
	only       map[netip.Addr]bool // while set, only these addresses answer
	on         string              // while set, answers arrive on this link
	delay      time.Duration       // how long after its question an answer arrives
	askStall   time.Duration       // how long each AskAll takes
	stalled    bool                // Run reads nothing
	questions  int
	probes     map[string]int // the primary's host probed, by link
	watched    map[netip.Addr]bool
	unread     []neighbor.Answer     // arrived (or due), not yet read
	report     func(neighbor.Answer) // Run's, while it runs: Drain reports through it
	wake       chan struct{}         // an answer is queued, or the stall ended
	fail       chan error            // Run returns what comes here
	plan       []askStep             // what the next questions meet, first first
	unsendable bool                  // no question for an address goes out (probes do)
	runs       int                   // how often Run was started
	drains     int                   // how often Drain was called
}

// Watch hears answers for ip too.
func (f *fakeAsker) Watch(ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watched == nil {
		f.watched = map[netip.Addr]bool{}
	}
	f.watched[ip] = true
	return nil
}

// probed returns how often the primary's host was probed on link.
func (f *fakeAsker) probed(link string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.probes[link]
}

func newAsker() *fakeAsker {
	return &fakeAsker{wake: make(chan struct{}, 1), fail: make(chan error, 1)}
}

// answering sets the MAC that answers ("": nobody).
func (f *fakeAsker) answering(mac string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mac = mac
}

// stall stops Run reading (true) or lets it read again.
func (f *fakeAsker) stall(on bool) {
	f.mu.Lock()
	f.stalled = on
	f.mu.Unlock()
	f.poke()
}

func (f *fakeAsker) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fakeAsker) asked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.questions
}

// askStep is what one question meets, in a plan: a sender that takes
// stall to send it, and an answer (from the MAC answering) or none,
// arriving delay after it.
type askStep struct {
	stall  time.Duration
	answer bool
	delay  time.Duration
}

func (f *fakeAsker) AskAll(qs []neighbor.Question) (int, error) {
	f.mu.Lock()
	stall := f.askStall
	var step *askStep
	if len(f.plan) > 0 {
		step = &f.plan[0]
		f.plan = f.plan[1:]
		stall = step.stall
	}
	f.mu.Unlock()
	if stall > 0 {
		time.Sleep(stall)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	mac, delay := f.mac, f.delay
	if step != nil {
		delay = step.delay
		if !step.answer {
			mac = ""
		}
	}
	if len(qs) == 1 && qs[0].Addr == senders[qs[0].Interface] {
		if f.probes == nil {
			f.probes = map[string]int{}
		}
		f.probes[qs[0].Interface]++
	} else {
		if f.unsendable {
			return 0, errors.New("sendto: no such device")
		}
		f.questions++
	}
	if mac == "" {
		return len(qs), nil
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return 0, err
	}
	for _, q := range qs {
		if f.only != nil && !f.only[q.Addr] {
			continue
		}
		on := q.Interface
		if f.on != "" {
			on = f.on
		}
		f.unread = append(f.unread, neighbor.Answer{At: time.Now().Add(delay), Addr: q.Addr, Interface: on, MAC: hw})
	}
	defer f.poke()
	return len(qs), nil
}

// arrived takes the answers that have arrived by now.
func (f *fakeAsker) arrivedLocked() []neighbor.Answer {
	now := time.Now()
	var got, later []neighbor.Answer
	for _, a := range f.unread {
		if a.At.After(now) {
			later = append(later, a)
		} else {
			got = append(got, a)
		}
	}
	f.unread = later
	return got
}

// Drain reports the answers that arrived and wait unread, through Run's
// report, as the real asker does; with no Run listening there is nobody
// to report to, and they stay.
func (f *fakeAsker) Drain() {
	f.mu.Lock()
	f.drains++
	report := f.report
	var got []neighbor.Answer
	if report != nil {
		got = f.arrivedLocked()
	}
	f.mu.Unlock()
	for _, a := range got {
		report(a)
	}
}

func (f *fakeAsker) Close() error { return nil }

func (f *fakeAsker) Run(ctx context.Context, answer func(neighbor.Answer)) error {
	f.mu.Lock()
	f.report = answer
	f.runs++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.report = nil
		f.mu.Unlock()
	}()
	for {
		f.mu.Lock()
		var got []neighbor.Answer
		next := time.Duration(-1)
		if !f.stalled {
			got = f.arrivedLocked()
			if len(f.unread) > 0 {
				next = time.Until(f.unread[0].At)
				for _, a := range f.unread[1:] {
					next = min(next, time.Until(a.At))
				}
			}
		}
		f.mu.Unlock()
		for _, a := range got {
			answer(a)
		}
		var due <-chan time.Time
		t := time.NewTimer(time.Hour)
		if next >= 0 {
			t.Reset(next)
			due = t.C
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case err := <-f.fail:
			t.Stop()
			return err
		case <-f.wake:
		case <-due:
		}
		t.Stop()
	}
}

// fakeInterfaces is the host's interfaces, as a test sets them.
type fakeInterfaces struct {
	mu    sync.Mutex
	names []string
}

func (f *fakeInterfaces) list() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.names), nil
}

func (f *fakeInterfaces) set(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names = names
}
