package takeover

import (
	"context"
	"errors"
	"net"
	"time"
)

// Questioner asks who answers for addresses, each on its interface, and
// reports the answers from other hosts.
type Questioner interface {
	// AskAll asks once for each address and says for how many it
	// could; err tells why not for the others.
	AskAll(as []Address) (asked int, err error)
	Run(ctx context.Context, answer func(Answer)) error
}

// AddressAsker is a Questioner over an Asker: it looks each address's
// interface up when it asks (an interface may come and go).
type AddressAsker struct {
	Asker Asker
	// Lookup finds an interface by name; net.InterfaceByName when nil.
	Lookup func(name string) (*net.Interface, error)
}

var _ Questioner = AddressAsker{}

// AskAll asks once for each address; it returns how many it asked and
// every failure.
func (q AddressAsker) AskAll(as []Address) (int, error) {
	lookup := q.Lookup
	if lookup == nil {
		lookup = net.InterfaceByName
	}
	var errs []error
	asked := 0
	ifis := map[string]*net.Interface{}
	for _, a := range as {
		ifi, ok := ifis[a.Interface]
		if !ok {
			var err error
			if ifi, err = lookup(a.Interface); err != nil {
				errs = append(errs, err)
				continue
			}
			ifis[a.Interface] = ifi
		}
		if err := q.Asker.Ask(ifi, a.Addr()); err != nil {
			errs = append(errs, err)
			continue
		}
		asked++
	}
	return asked, errors.Join(errs...)
}

// Run passes the Asker's answers on until ctx ends.
func (q AddressAsker) Run(ctx context.Context, answer func(Answer)) error {
	return q.Asker.Run(ctx, answer)
}

// AskRound asks for every address three times, a third of wait apart,
// and returns wait after the first question, or when ctx ends: an
// answer to any of them has arrived by then, through Run.
func AskRound(ctx context.Context, q Questioner, as []Address, wait time.Duration) error {
	end := time.Now().Add(wait)
	var err error
	for i := range 3 {
		if i > 0 && !sleep(ctx, wait/3) {
			return ctx.Err()
		}
		_, e := q.AskAll(as)
		err = errors.Join(err, e)
	}
	if !sleep(ctx, time.Until(end)) {
		return ctx.Err()
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
