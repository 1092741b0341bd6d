package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Origin says where a setting came from, for error messages.
type Origin struct {
	File string // file path; empty for the command line
	Line int    // 1-based line in File
	Arg  string // the flag or argument on the command line
}

func (o Origin) String() string {
	if o.File != "" {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	if o.Arg != "" {
		return "command line (" + o.Arg + ")"
	}
	return "default"
}

// Setting is one raw KEY=value with its origin.
type Setting struct {
	Value  string
	Origin Origin
}

// Settings maps keys to their raw values; later sources overwrite earlier.
type Settings map[string]Setting

// ReadFile parses a hostconfig-style file. Keys that are not ours are
// ignored, as are lines that are not assignments to one of our keys; a
// FAILOVER_* line that does not parse is an error naming file and line.
func ReadFile(path string) (Settings, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads KEY=value lines from r; name is used in errors.
//
// The syntax is the common ground of /etc/hostconfig (read by sh) and a
// systemd EnvironmentFile=: KEY=value, KEY="value", KEY='value', blank
// lines, and lines starting with # (or ;). Inside double quotes, \" \\ \$
// and \` are escapes. After a value, only white space or a # comment may
// follow. Keys are case-sensitive.
func Parse(r io.Reader, name string) (Settings, error) {
	out := Settings{}
	var errs errorList
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		origin := Origin{File: name, Line: n}
		line := strings.TrimLeft(sc.Text(), " \t")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			if f := strings.Fields(line); len(f) > 0 && isOurs(f[0]) {
				key := f[0]
				errs.add(&Error{Origin: origin, Key: key, Problem: "line has no '='", Hint: "write " + key + "=value"})
			}
			continue
		}
		key := line[:eq]
		if !isOurs(strings.TrimSpace(key)) {
			continue
		}
		if strings.TrimSpace(key) != key {
			key = strings.TrimSpace(key)
			errs.add(&Error{Origin: origin, Key: key, Problem: "space around '='", Hint: "write " + key + "=value with no spaces around '=' (sh and systemd both need that)"})
			continue
		}
		value, err := parseValue(line[eq+1:])
		if err != nil {
			errs.add(&Error{Origin: origin, Key: key, Problem: err.problem, Hint: strings.ReplaceAll(err.hint, "KEY", key)})
			continue
		}
		out[key] = Setting{Value: value, Origin: origin}
	}
	if err := sc.Err(); err != nil {
		errs.add(fmt.Errorf("%s: %w", name, err))
	}
	return out, errs.err()
}

func isOurs(key string) bool { return strings.HasPrefix(key, keyPrefix) }

type valueError struct{ problem, hint string }

// parseValue reads one value: quoted or bare, then only a comment.
func parseValue(s string) (string, *valueError) {
	var b strings.Builder
	rest := ""
	switch {
	case strings.HasPrefix(s, `"`):
		i := 1
		closed := false
		for i < len(s) {
			c := s[i]
			if c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
				b.WriteByte(s[i+1])
				i += 2
				continue
			}
			if c == '"' {
				closed = true
				i++
				break
			}
			b.WriteByte(c)
			i++
		}
		if !closed {
			return "", &valueError{"double quote is never closed", `close it on the same line: KEY="value"`}
		}
		rest = s[i:]
	case strings.HasPrefix(s, "'"):
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", &valueError{"single quote is never closed", "close it on the same line: KEY='value'"}
		}
		b.WriteString(s[1 : 1+end])
		rest = s[2+end:]
	default:
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		b.WriteString(s[:end])
		rest = s[end:]
	}
	if q := typographicQuote(s); q != "" {
		return "", &valueError{"value contains the typographic quote " + q + " (often pasted from a PDF)", `use straight quotes: KEY="value"`}
	}
	rest = strings.TrimLeft(rest, " \t")
	if rest != "" && rest[0] != '#' {
		return "", &valueError{fmt.Sprintf("unexpected %q after the value", rest), `quote a value that holds spaces: KEY="a b"`}
	}
	return b.String(), nil
}

func typographicQuote(s string) string {
	for _, q := range []string{"\u201c", "\u201d", "\u2018", "\u2019", "\u201e", "\u00ab", "\u00bb"} {
		if strings.Contains(s, q) {
			return q
		}
	}
	return ""
}
