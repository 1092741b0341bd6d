//go:build !linux

package arbiter

import "time"

// userTimeout does nothing here: macOS has no TCP_USER_TIMEOUT (its
// TCP_RXT_CONNDROPTIME counts whole seconds), so a connection a silent
// cut left hanging resumes at TCP's next retransmission.
func userTimeout(uintptr, time.Duration) error { return nil }
