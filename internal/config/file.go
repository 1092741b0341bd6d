package config

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// Origin says where a setting came from, for error messages.
type Origin struct {
	File string // file path; empty for the command line
	Line int    // 1-based line in File; 0 for the whole file
	Arg  string // the flag or argument on the command line
}

func (o Origin) String() string {
	if o.File != "" && o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	if o.File != "" {
		return o.File // the file as a whole, for a key it lacks
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
	br := bufio.NewReaderSize(r, 64*1024)
	for n := 1; ; n++ {
		raw, length, rerr := readLine(br, maxLine)
		if rerr != nil && rerr != io.EOF {
			// A file that cannot be read (a folder, a failing disk) gives
			// no settings: the keys it might set are not reported missing.
			errs.add(fmt.Errorf("%s:%d: %w", name, n, rerr))
			return nil, errs.err()
		}
		if rerr == io.EOF && length == 0 {
			break
		}
		origin := Origin{File: name, Line: n}
		line := strings.TrimLeft(string(raw), " \t")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		line = strings.TrimPrefix(line, "export ")
		if length > maxLine {
			// Only its start was kept: enough to tell whose line it is.
			key := line
			if i := strings.IndexAny(line, "= \t"); i >= 0 {
				key = line[:i]
			}
			if isOurs(key) {
				errs.add(&Error{Origin: origin, Key: key, Problem: fmt.Sprintf("line is %d bytes long; a line may have at most %d", length, maxLine),
					Hint: "a value is a few hundred bytes at most; check that this is the configuration file and that its lines end"})
			}
		} else {
			parseLine(line, origin, out, &errs)
		}
		if rerr == io.EOF {
			break
		}
	}
	return out, errs.err()
}

// maxLine is the longest line Parse reads; it skips the rest of a longer
// one, and says so when the line is one of ours.
const maxLine = 1 << 20

// readLine reads one line and returns it without its line end, and its
// length. Of a line longer than max it keeps only the first max+1 bytes,
// so a file with no line ends costs no more memory than that.
func readLine(br *bufio.Reader, max int) (line []byte, length int, err error) {
	for {
		var chunk []byte
		chunk, err = br.ReadSlice('\n')
		length += len(chunk)
		if keep := max + 1 - len(line); keep > 0 {
			line = append(line, chunk[:min(keep, len(chunk))]...)
		}
		if err != bufio.ErrBufferFull {
			break
		}
	}
	if err == nil {
		length-- // the '\n'
		line = bytes.TrimSuffix(line, []byte("\n"))
		if length <= max && bytes.HasSuffix(line, []byte("\r")) {
			length--
			line = line[:len(line)-1]
		}
	}
	return line, length, err
}

// parseLine reads one KEY=value line into out, or adds its problem to
// errs; lines that are not ours it leaves alone.
func parseLine(line string, origin Origin, out Settings, errs *errorList) {
	if line == "" || line[0] == '#' || line[0] == ';' {
		return
	}
	eq := strings.IndexByte(line, '=')
	if eq < 0 {
		if f := strings.Fields(line); len(f) > 0 && isOurs(f[0]) {
			key := f[0]
			errs.add(&Error{Origin: origin, Key: key, Problem: "line has no '='", Hint: "write " + clip(key) + "=value"})
		}
		return
	}
	key := line[:eq]
	if !isOurs(strings.TrimSpace(key)) {
		return
	}
	if strings.TrimSpace(key) != key {
		key = strings.TrimSpace(key)
		errs.add(&Error{Origin: origin, Key: key, Problem: "space around '='", Hint: "write " + clip(key) + "=value with no spaces around '=' (sh and systemd both need that)"})
		return
	}
	value, err := parseValue(line[eq+1:])
	if err != nil {
		errs.add(&Error{Origin: origin, Key: key, Problem: err.problem, Hint: strings.ReplaceAll(err.hint, "KEY", clip(key))})
		return
	}
	out[key] = Setting{Value: value, Origin: origin}
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
		return "", &valueError{fmt.Sprintf("unexpected %s after the value", quoted(rest)), `quote a value that holds spaces: KEY="a b"`}
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
