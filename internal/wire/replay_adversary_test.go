package wire

import (
	"errors"
	"testing"
	"time"
)

// Attack (public link, no key): the attacker holds back the primary's
// heartbeats on the public link (unicast targets, its ARP answers
// poisoning the primary's cache) and lets through only the private
// copies. When the primary dies, it releases the last held-back public
// copy after the secondary has taken over (three intervals and the probe
// round), so that the primary seems heard since the takeover and a forged
// ARP answer then gives the dead primary's addresses back. The guard
// must refuse that copy: its sequence number arrived on the private link
// longer ago than one interval.
func TestAdversaryHeldBackCopyAfterTakeoverIsRefused(t *testing.T) {
	for _, interval := range []time.Duration{100 * time.Millisecond, time.Second} {
		t0 := time.Unix(1_700_000_000, 0)
		g := NewReplayGuard(0)
		run := beats(1, t0, interval, 20*interval)
		for _, p := range run {
			at := p.SentAt.Add(time.Millisecond)
			if err := g.Check(p, 0, at); err != nil { // the private link
				t.Fatalf("interval %v seq %d on the private link: %v", interval, p.Seq, err)
			}
		}
		last := *run[len(run)-1]
		// The earliest takeover: the timeout (three intervals), less
		// with a probe round, but never before an interval and a bit.
		for _, after := range []time.Duration{interval + interval/4, 3 * interval, 4*interval - time.Millisecond} {
			late := last
			if err := g.Check(&late, 1, last.SentAt.Add(after)); !errors.Is(err, ErrReplay) && !errors.Is(err, ErrDelayed) {
				t.Errorf("interval %v: the public copy of the last heartbeat, held back %v, was %v; want refused", interval, after, err)
			}
		}
	}
}
