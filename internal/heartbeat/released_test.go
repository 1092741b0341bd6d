package heartbeat

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
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
