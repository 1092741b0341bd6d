package config

import (
	"errors"
	"strings"
)

// ExitConfig is the exit status for a configuration error (EX_CONFIG in
// sysexits.h).
const ExitConfig = 78

// Error is one configuration problem: where, which key, what is wrong,
// and what would be right.
type Error struct {
	Origin  Origin
	Key     string
	Value   string
	Problem string
	Hint    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Origin.String())
	b.WriteString(": ")
	b.WriteString(e.Key)
	if e.Value != "" {
		b.WriteString("=")
		b.WriteString(quoteIfNeeded(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t'\"#") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

// errorList collects problems so that one run reports all of them.
type errorList []error

func (l *errorList) add(err error) {
	if err != nil {
		*l = append(*l, err)
	}
}

func (l errorList) err() error { return errors.Join(l...) }

// Errors splits a joined configuration error into its parts.
func Errors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...) // a file's own joined errors too
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
