package lab

import "time"

// Blip takes server2's carrier away on both its links for d each, and
// gives it back: its switch port and the far end of the private cable
// go down, and up again d later, by netlink. With stagger 0 the two
// links change microseconds apart; two switch ports seldom do, so a
// positive stagger takes the private cable first and the switch port
// stagger later, a negative one the switch port first. The private
// cable runs straight to server1, so server1 sees its end down too, as
// with a real cable; nothing else of server1 changes. Call it from the
// test's goroutine.
func (p *Pair) Blip(d, stagger time.Duration) {
	first, second := p.privateEnd(), nsLink{p.Switch, "s2"}
	if stagger < 0 {
		first, second, stagger = second, first, -stagger
	}
	set := func(up bool) {
		var err error
		if stagger == 0 {
			err = setLinks(up, first, second)
		} else {
			err = setLinks(up, first)
			time.Sleep(stagger)
			if err == nil {
				err = setLinks(up, second)
			}
		}
		if err != nil {
			p.S2.t.Fatalf("blip: %v", err)
		}
	}
	set(false)
	time.Sleep(d - stagger)
	set(true)
}
