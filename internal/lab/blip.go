package lab

import "time"

// Blip takes server2's carrier away on both its links for d, and gives
// it back: its switch port and the far end of the private cable go down,
// one netlink message after the other, microseconds apart, and up again
// the same way. The private cable runs straight to server1, so server1
// sees its end down for d too, as with a real cable; nothing else of
// server1 changes.
func (p *Pair) Blip(d time.Duration) {
	links := []nsLink{{p.Switch, "s2"}, p.privateEnd()}
	if err := setLinks(false, links...); err != nil {
		p.S2.t.Fatalf("blip: %v", err)
	}
	time.Sleep(d)
	if err := setLinks(true, links...); err != nil {
		p.S2.t.Fatalf("blip: %v", err)
	}
}
