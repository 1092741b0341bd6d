// Package hooks finds and runs the administrator's hook scripts of a public
// address (Test, PreAcq*, PostAcq*, PreRel*, PostRel*) the way Mac OS X
// Server's failoverd did: from one folder per address, in `ls` order. It adds
// what the original lacked: a timeout that kills everything a hook started,
// a clean environment, every output line in the log, and a refusal to run
// files a non-root user could have changed.
package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Stage is a moment around acquiring or releasing an address; hook files
// are found by it.
type Stage string

// The stages, in the order failoverd uses them: Test before anything is
// done (its non-zero exit is the veto), then PreAcq, acquire, PostAcq; on
// recovery Test, PreRel, release, PostRel.
const (
	Test    Stage = "Test"
	PreAcq  Stage = "PreAcq"
	PostAcq Stage = "PostAcq"
	PreRel  Stage = "PreRel"
	PostRel Stage = "PostRel"
	// Check: heartbeatd's service checks on the primary, every
	// FAILOVER_CHECK_INTERVAL; exit 0 is a pass.
	Check Stage = "Check"
)

func (s Stage) valid() bool {
	switch s {
	case Test, PreAcq, PostAcq, PreRel, PostRel, Check:
		return true
	}
	return false
}

// Env is what a hook is told, as FAILOVER_* environment variables; nothing
// else of failoverd's environment reaches a hook.
type Env struct {
	Action    string     // "acquire" or "release": tells a Test which it is asked about
	Address   netip.Addr // the public address; also names its hook folder
	Interface string     // where the address is (to be) held
	PeerIP    netip.Addr // the primary's private address
	Reason    string     // why this is happening, for the hook's own logs
}

// Result is the outcome of one hook run. The same value goes from the
// runner to failoverctl status and to the notices; in JSON its Err is the
// error's text.
type Result struct {
	Stage    Stage  `json:"stage"`
	Name     string `json:"name"` // file name
	Path     string `json:"path,omitempty"`
	Exit     int    `json:"exit"`                // exit code; -1 when it did not exit normally
	TimedOut bool   `json:"timed_out,omitempty"` // killed because it outran Runner.Timeout
	// Err says why the hook did not exit on its own (could not start,
	// killed, or the whole stage could not run); nil on a normal exit,
	// even a non-zero one.
	Err      error         `json:"-"`
	Started  time.Time     `json:"started,omitzero"`
	Duration time.Duration `json:"duration_ns"`
	// Tail is the last lines it wrote (stdout and stderr), for notices.
	Tail []string `json:"tail,omitempty"`
}

// OK reports whether the hook exited 0 on its own. A hook that was killed
// is not OK even if it trapped the signal and exited 0.
func (r Result) OK() bool { return r.Err == nil && !r.TimedOut && r.Exit == 0 }

// Outcome is what an operator asks first: "exit 0", "timed out", or why
// the hook did not run.
func (r Result) Outcome() string {
	switch {
	case r.TimedOut:
		return "timed out"
	case r.Err != nil && r.Exit < 0:
		return r.Err.Error()
	}
	return fmt.Sprintf("exit %d", r.Exit)
}

// StageError is the Result that stands for a stage that could not run at
// all (an unsafe or unreadable hook folder), so that status and notices
// show it in line with the hooks that did run.
func StageError(stage Stage, err error) Result {
	return Result{Stage: stage, Name: "(" + string(stage) + " hooks)", Exit: -1, Err: err}
}

// resultJSON is Result with its error as text.
type resultJSON struct {
	jsonFields
	Error string `json:"error,omitempty"`
}

type jsonFields Result // Result's fields without its methods

// MarshalJSON writes Err as its text.
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{jsonFields: jsonFields(r)}
	if r.Err != nil {
		j.Error = r.Err.Error()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote; Err keeps only the text.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result(j.jsonFields)
	if j.Error != "" {
		r.Err = errors.New(j.Error)
	}
	return nil
}

// ErrTimeout is wrapped by Result.Err of a hook killed at its timeout.
var ErrTimeout = errors.New("hook timed out")

// Defaults used when the Runner's fields are zero.
const (
	DefaultTimeout = 60 * time.Second
	DefaultPath    = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// defaultGrace is how long a timed-out hook's process group has between
	// SIGTERM and SIGKILL to clean up (unmount, stop a service).
	defaultGrace = 2 * time.Second
)

// Runner finds and runs hooks. Its zero value (with Dir set) is usable.
type Runner struct {
	Dir     string        // hook folder; an address's hooks are in Dir/<address>
	Timeout time.Duration // per hook; DefaultTimeout when zero
	Log     *slog.Logger  // nil: no logging
	// RequireSafe refuses hook files and folders that a non-root user
	// could change, since failoverd runs them as root.
	RequireSafe bool
	Path        string // PATH given to hooks; DefaultPath when empty
	// Quiet logs a hook's start, output and end at debug level, when it
	// succeeds: checks run every few seconds.
	Quiet bool

	grace time.Duration // SIGTERM to SIGKILL; defaultGrace when zero (tests shorten it)
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout <= 0 {
		return DefaultTimeout
	}
	return r.Timeout
}

func (r *Runner) path() string {
	if r.Path == "" {
		return DefaultPath
	}
	return r.Path
}

func (r *Runner) killGrace() time.Duration {
	if r.grace <= 0 {
		return defaultGrace
	}
	return r.grace
}
