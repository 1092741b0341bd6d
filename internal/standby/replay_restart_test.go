package standby

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// A standby that held the addresses dies; a moment later another
// standby, which heard it until it stopped, starts again. An attacker
// without the key sends the dead holder's recorded announcements to it,
// each as late as the first (25 s, within the replay window): they must
// not hold it back for more than one timeout (failoverd(8) STANDBYS),
// which they do when the restarted standby remembers nothing of what it
// heard (its guard would take the recording's first packet as a fresh
// run, and the rest as its stream).
func TestARecordedHolderAfterARestartHoldsBackOneTimeoutAtMost(t *testing.T) {
	const timeout, every, late = 3 * time.Second, time.Second, 25 * time.Second
	from := netip.MustParseAddr("192.0.2.2")
	me := Self{Name: "server3", Priority: 100, Eligible: true, Addresses: theirs}
	for _, kept := range []bool{true, false} {
		kr := keyring(t)
		holder := testConn(t, kr, "server2")
		// Its announcements, one a second, until its power went off
		// just after t0-1s; each recorded on the link.
		var rec []wire.Packet
		for i := 25; i >= 1; i-- {
			rec = append(rec, holder.Packet(Self{Name: "server2", Priority: 200, Holding: true, Eligible: true, Addresses: theirs}, every, t0.Add(-time.Duration(i)*every)))
		}
		seal := func(p wire.Packet) []byte {
			b, err := kr.Seal(&p)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		// server3 heard them as they came, until it stopped at t0-2s.
		before := testConn(t, kr, "server3")
		for _, p := range rec {
			if p.SentAt.After(t0.Add(-2 * time.Second)) {
				break
			}
			if _, ok := before.Accept(seal(p), "priv0", from, p.SentAt); !ok {
				t.Fatalf("the live announcement of %v not taken", p.SentAt)
			}
		}
		var recs []wire.SenderRecord
		if kept {
			recs, _, _ = before.ReplayMemory()
		}
		// It starts again at t0; the recording follows, 25 s late.
		restarted := newConn(Config{Port: DefaultPort, Links: []string{"priv0", "pub0"}, Name: "server3", Addresses: theirs,
			Keys: func() *wire.Keyring { return kr }, Freshness: 30 * time.Second, Replay: recs}, before.log, nil)
		table := NewTable()
		check := t0.Add(timeout + every)
		for _, p := range rec {
			at := p.SentAt.Add(late)
			if at.Before(t0) || at.After(check) {
				continue
			}
			if got, ok := restarted.Accept(seal(p), "priv0", from, at); ok {
				table.Heard(got, Life{Timeout: timeout})
			}
		}
		y := table.Yield(me, check, Life{Timeout: timeout})
		switch {
		case kept && y.To != "":
			t.Fatalf("%v after the restart, the holder dead since, server3 still leaves the addresses to %s: a timeout is %v", check.Sub(t0), y.To, timeout)
		case !kept && y.To == "":
			t.Fatal("with nothing remembered across the restart, the recording was refused: this test no longer shows what the store is for")
		}
	}
}
