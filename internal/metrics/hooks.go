package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfailover/ipfailover/internal/hooks"
)

// HookRunner runs one stage's hooks (hooks.Runner; failoverd's and
// heartbeatd's checks alike).
type HookRunner interface {
	Run(ctx context.Context, stage hooks.Stage, env hooks.Env) ([]hooks.Result, error)
}

// Hook results, the `result` label of ipfailover_hook_runs_total.
const (
	resultOK      = "ok"      // exit 0
	resultFailed  = "failed"  // a non-zero exit
	resultTimeout = "timeout" // killed at its timeout
	resultError   = "error"   // could not run (unsafe, not executable), or the whole stage could not
)

// Hooks count hook runs by stage and result, and time them: failoverd's
// stages and heartbeatd's checks alike.
type Hooks struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHooks registers the hooks' metrics with reg.
func NewHooks(reg prometheus.Registerer) *Hooks {
	m := &Hooks{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "hook_runs_total",
			Help: "Hook runs by stage (Test, PreAcq, PostAcq, PreRel, PostRel, Check) and result (ok, failed, timeout, error)."}, []string{"stage", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "hook_duration_seconds",
			Help: "How long each hook ran, by stage.", Buckets: DurationBuckets}, []string{"stage"}),
	}
	reg.MustRegister(m.runs, m.duration)
	return m
}

func resultOf(r hooks.Result) string {
	switch {
	case r.TimedOut:
		return resultTimeout
	case r.Err != nil:
		return resultError
	case r.Exit != 0:
		return resultFailed
	}
	return resultOK
}

// Count wraps r to count and time every hook it runs.
func (h *Hooks) Count(r HookRunner) HookRunner { return countingRunner{HookRunner: r, m: h} }

// countingRunner counts the hooks its runner runs.
type countingRunner struct {
	HookRunner
	m *Hooks
}

func (c countingRunner) Run(ctx context.Context, stage hooks.Stage, env hooks.Env) ([]hooks.Result, error) {
	rs, err := c.HookRunner.Run(ctx, stage, env)
	for _, r := range rs {
		c.m.runs.WithLabelValues(string(stage), resultOf(r)).Inc()
		c.m.duration.WithLabelValues(string(stage)).Observe(r.Duration.Seconds())
	}
	if err != nil {
		c.m.runs.WithLabelValues(string(stage), resultError).Inc()
	}
	return rs, err
}
