//go:build !linux

package fdtimer

import (
	"errors"
	"time"
)

func newFD(time.Duration, time.Duration) (Timer, error) {
	return nil, errors.New("no timerfd on this system")
}
