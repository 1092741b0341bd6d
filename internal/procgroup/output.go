package procgroup

import (
	"bytes"
	"sync"
)

// Output keeps the first bytes a program writes, up to a bound, and
// discards the rest: enough for an error message, not enough to flood a
// log or memory. One Output may serve as both Stdout and Stderr, which
// exec writes from two goroutines.
type Output struct {
	mu   sync.Mutex
	max  int
	b    bytes.Buffer
	lost bool
}

// NewOutput returns an Output that keeps at most max bytes.
func NewOutput(max int) *Output { return &Output{max: max} }

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if room := o.max - o.b.Len(); len(p) > room {
		o.b.Write(p[:max(room, 0)])
		o.lost = true
	} else {
		o.b.Write(p)
	}
	return len(p), nil
}

// String is what was kept, marked when more was written than kept.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lost {
		return o.b.String() + " [output truncated]"
	}
	return o.b.String()
}
