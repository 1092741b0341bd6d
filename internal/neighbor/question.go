package neighbor

import (
	"context"
	"errors"
	"time"
)

// AskRound asks every question three times, a third of wait apart, and
// returns wait after the first, or when ctx ends: an answer to any of
// them has arrived by then, through Run.
func AskRound(ctx context.Context, q Asker, qs []Question, wait time.Duration) error {
	end := time.Now().Add(wait)
	var err error
	for i := range 3 {
		if i > 0 && !sleep(ctx, wait/3) {
			return ctx.Err()
		}
		_, e := q.AskAll(qs)
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
