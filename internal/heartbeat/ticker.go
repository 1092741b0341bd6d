package heartbeat

import "time"

// ticker is the beat of the sender loop: a time.Ticker, or on Linux a
// timerfd (ticker_linux.go).
type ticker interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

type goTicker struct{ t *time.Ticker }

func (g goTicker) C() <-chan time.Time   { return g.t.C }
func (g goTicker) Reset(d time.Duration) { g.t.Reset(d) }
func (g goTicker) Stop()                 { g.t.Stop() }
