//go:build !linux

package heartbeat

import "time"

func newTicker(d time.Duration) ticker { return goTicker{time.NewTicker(d)} }
