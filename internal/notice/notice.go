// Package notice is the vocabulary of what the daemons tell the
// administrator: the kinds of notice, and a link's state as a notice
// shows it. The state machine (failover) decides most notices,
// heartbeatd sends its own (a conflict), notify delivers them and the
// event history keeps them: all speak these types, and none needs
// another's package for them, so heartbeatd can send a notice without
// linking the secondary's machine.
package notice

import "time"

// Kind says what a notice reports.
type Kind string

// The kinds of notice.
const (
	Takeover        Kind = "takeover"
	GiveBack        Kind = "giveback"
	Anomaly         Kind = "anomaly"         // heartbeats stopped on some links, not all
	AnomalyCleared  Kind = "anomaly-cleared" // they came back
	Veto            Kind = "veto"            // the Test hook said no
	HookFailure     Kind = "hook-failure"    // a Pre or Post hook failed; the job went on
	PrimaryBack     Kind = "primary-back"    // heard again while automatic give-back is off
	TakeoverFailed  Kind = "takeover-failed"
	GiveBackFailed  Kind = "giveback-failed"
	Conflict        Kind = "conflict"          // another host answers for an address this host would take or holds
	Unauthenticated Kind = "unauthenticated"   // the primary's packets and this host's keys disagree
	Unhealthy       Kind = "primary-unhealthy" // the primary's service checks fail
	Healthy         Kind = "primary-healthy"   // they pass again
	// TwoRuns: a run of the primary's heartbeatd that a newer one
	// replaced still sends (two at once, or a recording of them).
	TwoRuns Kind = "two-runs"
	// InterfaceMissing: a link's interface (where heartbeats are heard,
	// or an address is to be taken) does not exist after the start's
	// grace; InterfaceBack: it exists again.
	InterfaceMissing Kind = "interface-missing"
	InterfaceBack    Kind = "interface-back"
	// StandbyTie: another standby of the same primary has this host's
	// FAILOVER_PRIORITY.
	StandbyTie Kind = "standby-tie"
	// ArbiterLost: a holder lost the arbiter's majority and removed its
	// addresses at its lease's deadline.
	ArbiterLost Kind = "arbiter-lost"
)

// OfJob reports whether a notice of this kind tells how a job went, so
// that the hooks the job ran belong in it.
func (k Kind) OfJob() bool {
	switch k {
	case Takeover, GiveBack, Veto, HookFailure, TakeoverFailed, GiveBackFailed:
		return true
	}
	return false
}

// Link is what the machine knows of one heartbeat link.
type Link struct {
	Name      string    `json:"name"`
	Alive     bool      `json:"alive"`
	LastHeard time.Time `json:"last_heard,omitzero"` // the last heartbeat; zero: never
	// Goodbye is when the primary said goodbye on the link, after its
	// last heartbeat (zero: it did not): the link counts as silent.
	Goodbye   time.Time `json:"goodbye,omitzero"`
	NoCarrier bool      `json:"no_carrier,omitempty"` // the caller reported its carrier lost
	// MAC is the primary's hardware address on the link, as its last
	// authenticated heartbeat there signed it (empty: not said).
	MAC string `json:"mac,omitempty"`
	// Refused says why the last packet from the primary's own addresses
	// that the link dropped was dropped, and RefusedAt when it came
	// (empty: none): the primary sends, but is not heard.
	Refused   string    `json:"refused,omitempty"`
	RefusedAt time.Time `json:"refused_at,omitzero"`
}

// Refusing says the link's latest packet from the primary was refused:
// one came after its last heartbeat.
func (l Link) Refusing() bool { return l.Refused != "" && l.RefusedAt.After(l.LastHeard) }
