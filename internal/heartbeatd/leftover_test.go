package heartbeatd

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// quietAsker hears nobody.
type quietAsker struct{}

func (quietAsker) AskAll(qs []neighbor.Question) (int, error) { return len(qs), nil }
func (quietAsker) Watch(netip.Addr) error                     { return nil }
func (quietAsker) Drain()                                     {}
func (quietAsker) Run(ctx context.Context, _ func(neighbor.Answer)) error {
	<-ctx.Done()
	return nil
}
func (quietAsker) Close() error { return nil }

// A service address left on the host by a heartbeatd killed before it
// could remove it (kill -9) is this run's: failing checks at once after
// the start, before any claim, remove it, so that heartbeats saying the
// address was given up are true, and so does the stop. Found by the
// simulation (seed 15744 at 5148adf): heartbeatd started again with its
// checks failing said it had given the address up while the host still
// answered for it, and failoverd waited on a conflict.
func TestAServiceAddressLeftByAKilledRunIsThisRuns(t *testing.T) {
	for _, stop := range []bool{false, true} {
		addr := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.100/32")}
		mgr := takeover.NewFake()
		ctx := context.Background()
		if err := mgr.Acquire(ctx, addr); err != nil { // the killed run's
			t.Fatal(err)
		}
		c := &config.Config{}
		svc := NewService(c, []takeover.Address{addr}, &takeover.Mover{Manager: mgr}, quietAsker{}, nil, slog.New(slog.DiscardHandler))
		var err error
		if stop {
			err = svc.Release(ctx)
		} else {
			err = svc.Yield(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if held, _ := mgr.Held(ctx, []takeover.Address{addr}); len(held) != 0 {
			t.Fatalf("after %s the host still holds %v", map[bool]string{false: "failing checks", true: "the stop"}[stop], held)
		}
	}
}
