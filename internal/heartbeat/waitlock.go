package heartbeat

import "sync"

// waitLock is a mutex whose waiters wait on a channel. Service holds its
// lock across the arbiter's calls (a claim waits for the majority up to
// a sixth of the lease), and a goroutine waiting on a channel is durably
// blocked under testing/synctest, so that the simulation's clock runs on
// to the call's end; one waiting on a sync.Mutex would stop it there for
// good. Its zero value is an unlocked lock, as a sync.Mutex's is.
type waitLock struct {
	once sync.Once
	ch   chan struct{}
}

func (l *waitLock) init() { l.ch = make(chan struct{}, 1) }

func (l *waitLock) Lock() {
	l.once.Do(l.init)
	l.ch <- struct{}{}
}

func (l *waitLock) Unlock() {
	l.once.Do(l.init)
	select {
	case <-l.ch:
	default:
		panic("heartbeat: unlock of an unlocked waitLock")
	}
}
