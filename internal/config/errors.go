package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
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
	b.WriteString(clip(e.Key))
	if e.Value != "" {
		b.WriteString("=")
		b.WriteString(quoteIfNeeded(clip(e.Value)))
		b.WriteString(lengthNote(e.Value))
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

// maxQuoted is how much of a value a message shows: enough to know it
// by, not a screenful of whatever was pasted.
const maxQuoted = 80

// clip cuts s for a message to at most maxQuoted bytes, at a character
// boundary, and marks the cut with an ellipsis.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// lengthNote tells the length of a value that clip cuts, so the message
// still says how much there was.
func lengthNote(s string) string {
	if len(s) <= maxQuoted {
		return ""
	}
	return fmt.Sprintf(" (%d bytes)", len(s))
}

// quoted is s in Go quotes for a message, clipped.
func quoted(s string) string { return strconv.Quote(clip(s)) + lengthNote(s) }

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
