package heartbeat

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

var testKeys = func() *wire.Keyring {
	key, err := wire.NewKey(bytes.Repeat([]byte{7}, 32), "test")
	if err != nil {
		panic(err)
	}
	return wire.NewKeyring(key)
}()

// listening is one heartbeatd run's listener on loopback, with what it
// passed on and its log.
type listening struct {
	t    *testing.T
	conn net.Conn
	log  *syncLog
	stop func()

	mu   sync.Mutex
	got  []wire.Packet
	each chan struct{}
}

// listenAs runs a listener as the heartbeatd run with epoch does.
func listenAs(t *testing.T, epoch uint64) *listening {
	t.Helper()
	r := &listening{t: t, log: &syncLog{}, each: make(chan struct{}, 16)}
	l, err := ListenReleased(netip.MustParseAddr("127.0.0.1"), 0, slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	took := func(_ netip.Addr, p wire.Packet) {
		r.mu.Lock()
		r.got = append(r.got, p)
		r.mu.Unlock()
		r.each <- struct{}{}
	}
	go func() {
		defer close(done)
		if err := l.Run(ctx, func() *wire.Keyring { return testKeys }, FromSecondary{Epoch: epoch, Released: took, Holding: took}); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if r.conn, err = net.Dial("udp", l.conn.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	r.stop = func() { r.conn.Close(); cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

// send sends b and says whether the listener passed it on: it waits for
// the handler, or for the log to say it was not (a drop or an ignored
// packet is logged at debug level), with a deadline.
func (r *listening) send(b []byte) bool {
	r.t.Helper()
	before := strings.Count(r.log.String(), "\n")
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
	deadline := time.After(2 * time.Second)
	for {
		select {
		case <-r.each:
			return true
		case <-deadline:
			r.t.Fatalf("the listener neither passed the packet on nor logged why:\n%s", r.log)
		case <-time.After(time.Millisecond):
			if strings.Count(r.log.String(), "\n") > before {
				return false
			}
		}
	}
}

// fromSecondary is a packet of failoverd's (epoch 42), naming the
// primary's epoch named ("" for none).
func fromSecondary(t *testing.T, typ wire.Type, seq uint64, named string) []byte {
	t.Helper()
	b, err := testKeys.Seal(&wire.Packet{Type: typ, Sender: "secondary", Epoch: 42, Seq: seq, Interval: time.Second, SentAt: time.Now(), Message: named})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Attack (private link, no key; found by an adversary's review): a
// signed released recorded at a give-back is replayed to the next run of
// heartbeatd (a crash, an upgrade; the secondary took the addresses
// over meanwhile). The replay guard is new at each start and its window
// lets a 2 s old packet through; the released names the run it was
// meant for, which is gone, so it is dropped (other-epoch). Before,
// it was acted on, and heartbeatd added its service addresses while the
// secondary held them.
func TestReleasedRecordedBeforeARestartIsRefused(t *testing.T) {
	const run1, run2 = 0x1111, 0x2222
	recorded := fromSecondary(t, wire.Released, 1, wire.EpochMessage(run1))
	first := listenAs(t, run1)
	if !first.send(recorded) {
		t.Fatalf("the live released was not acted on:\n%s", first.log)
	}
	first.stop()
	time.Sleep(2 * time.Second) // heartbeatd restarts
	second := listenAs(t, run2)
	if second.send(recorded) {
		t.Fatal("a restarted heartbeatd acted on a released recorded in its previous run (2 s old): a keyless replay makes it add the service addresses while the secondary holds them")
	}
	if out := second.log.String(); !strings.Contains(out, "reason="+string(wire.DropOtherEpoch)) || !strings.Contains(out, "level=WARN") {
		t.Fatalf("the drop is not logged as other-epoch, at warning level:\n%s", out)
	}
}

// What a released or holding must name: this run's epoch; a released
// may name none (an older failoverd), a holding may not; other text is
// malformed. Each drop reason is logged at warning level once.
func TestReleasedAndHoldingMustNameThisRunsEpoch(t *testing.T) {
	const epoch = 0xfeed
	r := listenAs(t, epoch)
	seq := uint64(0)
	next := func(typ wire.Type, named string) []byte { seq++; return fromSecondary(t, typ, seq, named) }
	for _, c := range []struct {
		typ   wire.Type
		named string
		want  bool
	}{
		{wire.Holding, wire.EpochMessage(epoch), true},
		{wire.Holding, wire.EpochMessage(epoch + 1), false},
		{wire.Holding, "", false},
		{wire.Released, wire.EpochMessage(epoch - 1), false},
		{wire.Released, "released", false},
		{wire.Released, "", true},
	} {
		if got := r.send(next(c.typ, c.named)); got != c.want {
			t.Fatalf("%s naming %q: acted on %v, want %v\n%s", c.typ, c.named, got, c.want, r.log)
		}
	}
	out := r.log.String()
	if n := strings.Count(out, "reason="+string(wire.DropOtherEpoch)); n != 3 || strings.Count(out, "level=WARN") != 2 {
		t.Fatalf("%d other-epoch drops logged, want 3, and one warning each for other-epoch and malformed:\n%s", n, out)
	}
	if got := r.got; got[0].Type != wire.Holding || got[1].Type != wire.Released {
		t.Fatalf("passed on %+v", got)
	}
}

// A holding sent before the secondary's latest released, delivered after
// it, is stale: ignored, so that it cannot undo the give-back.
func TestHoldingSentBeforeTheReleasedIsIgnored(t *testing.T) {
	const epoch = 0xfeed
	r := listenAs(t, epoch)
	named := wire.EpochMessage(epoch)
	late := fromSecondary(t, wire.Holding, 1, named)
	if !r.send(fromSecondary(t, wire.Released, 2, named)) {
		t.Fatalf("released not acted on:\n%s", r.log)
	}
	if r.send(late) {
		t.Fatal("a holding sent before the released was acted on after it")
	}
	if !strings.Contains(r.log.String(), "holding sent before the secondary's latest released") {
		t.Fatalf("log:\n%s", r.log)
	}
	if !r.send(fromSecondary(t, wire.Holding, 3, named)) {
		t.Fatalf("a holding sent after the released was not acted on:\n%s", r.log)
	}
}

// pipeConn is a PacketConn whose datagrams come from a channel, so that
// a listener runs under testing/synctest's fake clock; readErr, when
// set, is what every read returns.
type pipeConn struct {
	in      chan []byte
	closed  chan struct{}
	once    sync.Once
	readErr error
}

func newPipeConn() *pipeConn {
	return &pipeConn{in: make(chan []byte, 16), closed: make(chan struct{})}
}

func (c *pipeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	select {
	case p := <-c.in:
		return copy(b, p), &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 1694}, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *pipeConn) Close() error                          { c.once.Do(func() { close(c.closed) }); return nil }
func (c *pipeConn) WriteTo([]byte, net.Addr) (int, error) { return 0, errors.ErrUnsupported }
func (c *pipeConn) LocalAddr() net.Addr                   { return &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1694} }
func (c *pipeConn) SetDeadline(time.Time) error           { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error       { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error      { return nil }

// A listener whose socket fails says why: Run returns the error, and
// heartbeatd logs that it stopped hearing the secondary.
func TestAListenerThatCannotReadSaysWhy(t *testing.T) {
	c := newPipeConn()
	c.readErr = syscall.EIO
	l := NewReleasedListener(c, slog.New(slog.DiscardHandler))
	err := l.Run(t.Context(), func() *wire.Keyring { return testKeys }, FromSecondary{})
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("Run returned %v, want the read error", err)
	}
}

// A listener closed by its owner stops quietly: Run returns nil, no
// error to log.
func TestAClosedListenerStopsQuietly(t *testing.T) {
	c := newPipeConn()
	l := NewReleasedListener(c, slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- l.Run(t.Context(), func() *wire.Keyring { return testKeys }, FromSecondary{}) }()
	l.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after Close, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

// The largest packet the wire allows is read whole: heartbeatd's own
// heartbeats at the longest name, message and MAC, looped back to a
// listener on every address, are ignored as heartbeats, not dropped as
// broken with a warning.
func TestTheLargestPacketIsReadWhole(t *testing.T) {
	const epoch = 0xfeed
	r := listenAs(t, epoch)
	b, err := testKeys.Seal(&wire.Packet{Type: wire.Heartbeat, Sender: strings.Repeat("n", wire.MaxSenderLen), Epoch: 1, Seq: 1,
		Interval: time.Second, SentAt: time.Now(), Message: strings.Repeat("m", wire.MaxMessageLen),
		HardwareAddr: bytes.Repeat([]byte{0xa0}, wire.MaxHardwareAddrLen)})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != wire.MaxPacketLen {
		t.Fatalf("the largest heartbeat is %d bytes, want %d", len(b), wire.MaxPacketLen)
	}
	if _, err := r.conn.Write(b); err != nil {
		t.Fatal(err)
	}
	if !r.send(fromSecondary(t, wire.Released, 1, wire.EpochMessage(epoch))) {
		t.Fatalf("the released after it was not acted on:\n%s", r.log)
	}
	if strings.Contains(r.log.String(), "dropped packet") {
		t.Fatalf("the largest heartbeat was dropped:\n%s", r.log)
	}
}

// Only a holding the same failoverd run sent before its released is
// stale: one from a failoverd started since (its sequence numbers begin
// again) or of another name is acted on.
func TestOnlyTheSameRunsEarlierHoldingIsStale(t *testing.T) {
	const epoch = 0xfeed
	named := wire.EpochMessage(epoch)
	seal := func(sender string, fEpoch uint64, typ wire.Type, seq uint64) []byte {
		b, err := testKeys.Seal(&wire.Packet{Type: typ, Sender: sender, Epoch: fEpoch, Seq: seq, Interval: time.Second, SentAt: time.Now(), Message: named})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name    string
		holding []byte
	}{
		{"a restarted failoverd", seal("secondary", 43, wire.Holding, 1)},
		{"another name", seal("secondary2", 42, wire.Holding, 1)},
	} {
		r := listenAs(t, epoch)
		if !r.send(seal("secondary", 42, wire.Released, 5)) {
			t.Fatalf("released not acted on:\n%s", r.log)
		}
		if !r.send(c.holding) {
			t.Fatalf("%s: a holding sent after the released, numbered below it, was ignored:\n%s", c.name, r.log)
		}
	}
}

// listenFake runs a listener over a pipeConn (for testing/synctest), as
// the heartbeatd run with epoch does; got returns what it passed on.
func listenFake(t *testing.T, epoch uint64) (c *pipeConn, logs *syncLog, got func() []wire.Packet) {
	c, logs = newPipeConn(), &syncLog{}
	l := NewReleasedListener(c, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var mu sync.Mutex
	var passed []wire.Packet
	took := func(_ netip.Addr, p wire.Packet) { mu.Lock(); defer mu.Unlock(); passed = append(passed, p) }
	go l.Run(t.Context(), func() *wire.Keyring { return testKeys }, FromSecondary{Epoch: epoch, Released: took, Holding: took})
	return c, logs, func() []wire.Packet { mu.Lock(); defer mu.Unlock(); return slices.Clone(passed) }
}

// A released or holding is acted on at most once a second, each kind on
// its own: the next one a full second later is acted on again, one
// sooner is logged as covered by the one under way.
func TestEachKindIsActedOnAtMostOnceASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const epoch = 0xfeed
		c, logs, got := listenFake(t, epoch)
		seq := uint64(0)
		send := func(typ wire.Type) {
			seq++
			c.in <- fromSecondary(t, typ, seq, wire.EpochMessage(epoch))
			synctest.Wait()
		}
		send(wire.Released)
		send(wire.Holding)
		time.Sleep(999 * time.Millisecond)
		send(wire.Released)
		if out := logs.String(); !strings.Contains(out, "released again within a second") || strings.Contains(out, "holding again") {
			t.Fatalf("a released within a second is not logged as such:\n%s", out)
		}
		send(wire.Holding)
		if !strings.Contains(logs.String(), "holding again within a second") {
			t.Fatalf("a holding within a second is not logged as such:\n%s", logs)
		}
		if n := len(got()); n != 2 {
			t.Fatalf("%d packets acted on, want the first of each kind", n)
		}
		time.Sleep(time.Millisecond) // a second after the first of each
		send(wire.Released)
		send(wire.Holding)
		if p := got(); len(p) != 4 || p[2].Type != wire.Released || p[3].Type != wire.Holding {
			t.Fatalf("acted on %+v, want each kind again a second later", p)
		}
	})
}

// A standby's signed announcement, recorded on the standby port and sent
// to heartbeatd's (from the secondary's address, with or without the
// key's help): nothing is done with it, and the drop is logged as
// wrong-type like every other drop, not left unsaid.
func TestAStandbyAnnouncementOnTheHeartbeatPortIsADrop(t *testing.T) {
	r := listenAs(t, 0xfeed)
	ann := fromSecondary(t, wire.Standby, 1, "priority=200 holding=yes eligible=yes")
	if r.send(ann) {
		t.Fatal("a standby's announcement was acted on as a released or holding")
	}
	if out := r.log.String(); !strings.Contains(out, "reason="+string(wire.DropWrongType)) || !strings.Contains(out, "level=WARN") {
		t.Fatalf("the drop is not logged as wrong-type, at warning level:\n%s", out)
	}
}
