package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// queueSize bounds the notices waiting for one notifier. Failover events
// are rare; a full queue means the notifier is stuck, and older notices
// are worth more than newer copies of the same trouble.
const queueSize = 64

// Async delivers notices in the background so that a slow or failing
// notifier never delays a takeover. Each notifier has its own queue and
// goroutine: a hung MTA does not hold back the pager, and each notifier
// sees the notices in the order they happened.
type Async struct {
	log    *slog.Logger
	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc
	sinks  []*sink
	wg     sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on closed queues
	closed bool
}

type sink struct {
	n     Notifier
	name  string
	queue chan Notice
}

// NewAsync starts one delivery goroutine per notifier; Close stops them.
func NewAsync(log *slog.Logger, ns ...Notifier) *Async {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Async{log: log}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	for _, n := range ns {
		s := &sink{n: n, name: notifierName(n), queue: make(chan Notice, queueSize)}
		a.sinks = append(a.sinks, s)
		a.wg.Go(func() { a.deliver(s) })
	}
	return a
}

// Notify queues e for every notifier and returns at once. A notice that
// does not fit is dropped and logged rather than waited for.
func (a *Async) Notify(e Notice) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e = e.clone() // the caller may reuse its slices while we deliver
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.log.Error("notice dropped: notifications already shut down", "kind", e.Kind)
		return
	}
	for _, s := range a.sinks {
		select {
		case s.queue <- e:
		default:
			a.log.Error("notice dropped: queue full, the notifier is stuck or slow",
				"notifier", s.name, "kind", e.Kind, "queue", queueSize)
		}
	}
}

// Close stops taking notices and waits up to timeout for the queued ones
// to be delivered; then it cancels what is still running and returns, so
// a stuck notifier cannot hold up the daemon's exit.
func (a *Async) Close(timeout time.Duration) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	for _, s := range a.sinks {
		close(s.queue)
	}
	a.mu.Unlock()
	defer a.cancel()

	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		for _, s := range a.sinks {
			if n := len(s.queue); n > 0 {
				a.log.Error("notices not delivered before shutdown",
					"notifier", s.name, "pending", n, "timeout", timeout)
			}
		}
	}
}

func (a *Async) deliver(s *sink) {
	for e := range s.queue {
		if a.ctx.Err() != nil {
			continue // Close gave up and has logged what is left
		}
		if err := safeNotify(a.ctx, s.n, e); err != nil {
			a.log.Error("notice failed", "notifier", s.name, "kind", e.Kind, "err", err)
		}
	}
}

// safeNotify turns a notifier's panic into an error: a bug in a notice
// sink must not take failoverd down while it holds the addresses.
func safeNotify(ctx context.Context, n Notifier, e Notice) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return n.Notify(ctx, e)
}

func notifierName(n Notifier) string {
	if s, ok := n.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", n)
}

func (e Notice) clone() Notice {
	e.Addresses = slices.Clone(e.Addresses)
	e.Links = slices.Clone(e.Links)
	e.Hooks = slices.Clone(e.Hooks)
	return e
}

// Sinks are the notifiers the configuration names: mail through
// sendmail (when set) and a command (when set).
func Sinks(sendmail, to, command string) []Notifier {
	var ns []Notifier
	if sendmail != "" {
		ns = append(ns, Mail{Sendmail: sendmail, To: to})
	}
	if command != "" {
		ns = append(ns, Command{Path: command})
	}
	return ns
}
