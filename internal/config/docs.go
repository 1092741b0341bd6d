package config

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// The key table's documentation is written in a small markup, so that one
// text serves the flags' help (plain text), the README (Markdown) and
// ipfailover(5) (mdoc):
//
//	`literal`        a value, command or path, as typed
//	*argument*       a command-line argument of the original
//	FAILOVER_NAME    a key
//	SIGHUP           a signal
//	page(8)          a manual page
//
// A token may be preceded by '(' and followed by closing punctuation.

//go:generate go test -run ^TestKeyDocsAreGenerated$ -update

// docFormat is one way of writing the markup out.
type docFormat int

const (
	plainText docFormat = iota
	markdown
	mdoc
)

var (
	keyToken    = regexp.MustCompile(`^FAILOVER_[A-Z0-9_]+$`)
	pageToken   = regexp.MustCompile(`^([a-z]+)\(([1-9])\)$`)
	signalToken = regexp.MustCompile(`^SIG[A-Z]+$`)
)

// docWord is one word of the markup: an optional opening parenthesis, the
// word itself, and the punctuation after it.
type docWord struct{ open, core, close string }

func (w docWord) markup() bool {
	return strings.HasPrefix(w.core, "`") || strings.HasPrefix(w.core, "*") ||
		keyToken.MatchString(w.core) || pageToken.MatchString(w.core) || signalToken.MatchString(w.core)
}

// splitDoc cuts text into words; a `literal` may hold blanks.
func splitDoc(text string) []docWord {
	var out []docWord
	for text = strings.TrimSpace(text); text != ""; text = strings.TrimLeft(text, " ") {
		end := strings.IndexByte(text, ' ')
		quote := 0
		if strings.HasPrefix(text, "`") {
			quote = 1
		} else if strings.HasPrefix(text, "(`") {
			quote = 2
		}
		if quote > 0 {
			if i := strings.IndexByte(text[quote:], '`'); i >= 0 {
				end = quote + i + 1
				if j := strings.IndexByte(text[end:], ' '); j >= 0 {
					end += j
				} else {
					end = -1
				}
			}
		}
		if end < 0 {
			end = len(text)
		}
		out = append(out, cutWord(text[:end]))
		text = text[end:]
	}
	return out
}

// cutWord separates a markup word from the parenthesis and punctuation
// around it; any other word stays whole.
func cutWord(s string) docWord {
	w := docWord{core: s}
	if strings.HasPrefix(s, "(") && len(s) > 1 {
		w.open, w.core = "(", s[1:]
	}
	var core string
	switch {
	case strings.HasPrefix(w.core, "`"):
		if i := strings.IndexByte(w.core[1:], '`'); i >= 0 {
			core = w.core[:i+2]
		}
	case strings.HasPrefix(w.core, "*"):
		if i := strings.IndexByte(w.core[1:], '*'); i >= 0 {
			core = w.core[:i+2]
		}
	default:
		trimmed := strings.TrimRight(w.core, ".,;:)")
		// A page's own ")" is not punctuation after it.
		if !pageToken.MatchString(trimmed) && pageToken.MatchString(trimmed+")") {
			trimmed += ")"
		}
		core = trimmed
	}
	rest := strings.TrimPrefix(w.core, core)
	w.core, w.close = core, rest
	if core == "" || strings.Trim(rest, ".,;:)") != "" || !w.markup() {
		return docWord{core: s}
	}
	return w
}

// renderDoc writes text in format f.
func renderDoc(text string, f docFormat) string {
	words := splitDoc(text)
	if f == mdoc {
		return renderMdoc(words)
	}
	parts := make([]string, len(words))
	for i, w := range words {
		core := w.core
		switch {
		case !w.markup():
		case strings.HasPrefix(core, "`") && f == plainText:
			core = strings.Trim(core, "`")
		case strings.HasPrefix(core, "*") && f == plainText:
			core = strings.Trim(core, "*")
		case keyToken.MatchString(core) && f == markdown:
			core = "`" + core + "`"
		case pageToken.MatchString(core):
			core = pageToken.FindStringSubmatch(core)[1]
		}
		parts[i] = w.open + core + w.close
	}
	return strings.Join(parts, " ")
}

// renderMdoc puts each markup word on a macro line of its own, with its
// punctuation as delimiters, and the other words on text lines between.
func renderMdoc(words []docWord) string {
	var lines []string
	var text []string
	flush := func() {
		if len(text) > 0 {
			for _, line := range wrap(text, 72) {
				line = strings.ReplaceAll(line, `\`, `\e`)
				if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
					line = `\&` + line
				}
				lines = append(lines, line)
			}
			text = nil
		}
	}
	for _, w := range words {
		if !w.markup() {
			text = append(text, w.core)
			// A sentence ends a line, as mdoc wants.
			if strings.HasSuffix(w.core, ".") {
				flush()
			}
			continue
		}
		flush()
		m := mdocMacro(w.core)
		args := []string{m[0]}
		if w.open != "" {
			args = append(args, w.open)
		}
		args = append(args, m[1:]...)
		for _, p := range w.close {
			args = append(args, string(p))
		}
		lines = append(lines, "."+strings.Join(args, " "))
	}
	flush()
	return strings.Join(lines, "\n")
}

// wrap joins words into lines of at most width bytes, where it can.
func wrap(words []string, width int) []string {
	var lines []string
	line := ""
	for _, w := range words {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

// mdocMacro is the macro name and arguments that write one markup word.
func mdocMacro(core string) []string {
	switch {
	case strings.HasPrefix(core, "`"):
		v := strings.Trim(core, "`")
		if len(v) > 1 && v[0] == '/' && unicode.IsLetter(rune(v[1])) {
			return []string{"Pa", v}
		}
		if len(v) == 2 && v[0] == '-' && unicode.IsLetter(rune(v[1])) || strings.HasPrefix(v, "--") {
			// Fl writes one dash itself; a second is escaped.
			return []string{"Fl", strings.Replace(v[1:], "-", `\-`, 1)}
		}
		var args []string
		for _, a := range strings.Fields(v) {
			args = append(args, mdocArg(a))
		}
		return append([]string{"Li"}, args...)
	case strings.HasPrefix(core, "*"):
		return []string{"Ar", mdocArg(strings.Trim(core, "*"))}
	case keyToken.MatchString(core):
		return []string{"Ev", core}
	case signalToken.MatchString(core):
		return []string{"Dv", core}
	default:
		m := pageToken.FindStringSubmatch(core)
		return []string{"Xr", m[1], m[2]}
	}
}

// mdocArg escapes a word that mdoc would read as a macro or a delimiter.
func mdocArg(a string) string {
	if len(a) >= 2 && len(a) <= 3 && unicode.IsUpper(rune(a[0])) || strings.Trim(a, ".,;:()[]|") == "" {
		return `\&` + a
	}
	return strings.ReplaceAll(a, `\`, `\e`)
}

// defaultDoc says, in the markup, what a key's default is on Linux and
// macOS.
func (k *key) defaultDoc() string {
	if k.Required != "" {
		return "No default: it, or " + k.Required + ", must be given."
	}
	value := func(v string) string {
		if v == "" {
			return "empty"
		}
		return "`" + v + "`"
	}
	d := value(k.Default)
	if k.Means != "" {
		d += ", " + k.Means
	}
	switch {
	case k.DarwinRoles == 0:
	case k.DarwinRoles == k.Roles:
		d = value(k.Default) + " on Linux, " + value(k.Darwin) + " on macOS"
	default:
		var who []string
		for _, r := range []Role{Heartbeatd, Failoverd} {
			if k.DarwinRoles&(1<<r) != 0 {
				who = append(who, r.String()+"(8)")
			}
		}
		d += ", except for " + strings.Join(who, " and ") + " on macOS: " + value(k.Darwin)
	}
	return "Default: " + d + "."
}

// usedByDoc says, in the markup, which daemons use a key.
func (k *key) usedByDoc() string {
	if k.Roles == roleBoth {
		return "Used by both."
	}
	if k.usedBy(Heartbeatd) {
		return "Used by heartbeatd(8)."
	}
	return "Used by failoverd(8)."
}

// flagDoc names, in the markup, the flags that override a key.
func (k *key) flagDoc() string {
	var out []string
	for _, f := range flagKeys {
		if f.key != k.Name {
			continue
		}
		names := "`--" + f.long + "`"
		if f.short != "" {
			names = "`-" + f.short + "` or " + names
		}
		s := "The flag " + names + " overrides it"
		if f.roles != k.Roles {
			for _, r := range []Role{Heartbeatd, Failoverd} {
				if f.roles == 1<<r {
					s = "The flag " + names + " of " + r.String() + "(8) overrides it"
				}
			}
		}
		out = append(out, s+".")
	}
	return strings.Join(out, " ")
}

// firstSentence is text up to its first full stop.
func firstSentence(text string) string {
	if i := strings.Index(text, ". "); i >= 0 {
		return text[:i]
	}
	return strings.TrimSuffix(text, ".")
}

// flagUsage is the help of a flag that overrides k, for role on goos:
// the first sentence of the key's documentation, the key, and its
// default.
func flagUsage(k *key, role Role, goos string, boolean bool) string {
	s := renderDoc(firstSentence(k.Doc), plainText)
	if r := []rune(s); len(r) > 1 && unicode.IsUpper(r[0]) && unicode.IsLower(r[1]) {
		s = string(unicode.ToLower(r[0])) + string(r[1:])
	}
	if boolean {
		return s + " (" + k.Name + "=-YES-)"
	}
	d := k.defaultFor(role, goos)
	switch {
	case d == "" && k.Means == "":
		d = "empty"
	case d == "":
		d = "empty: " + renderDoc(k.Means, plainText)
	case k.Means != "":
		d += ": " + renderDoc(k.Means, plainText)
	}
	return fmt.Sprintf("%s (%s; default %s)", s, k.Name, d)
}

// manKeys is the key list of ipfailover(5).
func manKeys() string {
	var b strings.Builder
	b.WriteString(".Bl -tag -width Ds\n")
	for _, k := range keys {
		fmt.Fprintf(&b, ".It Ev %s\n", k.Name)
		for _, part := range []string{k.usedByDoc(), k.defaultDoc(), k.Doc, k.flagDoc()} {
			if part != "" {
				b.WriteString(renderDoc(part, mdoc) + "\n")
			}
		}
		fmt.Fprintf(&b, ".Bd -literal -offset indent\n%s=%s\n.Ed\n", k.Name, strings.ReplaceAll(k.Example, `\`, `\e`))
	}
	b.WriteString(".El\n")
	return b.String()
}

// markdownKeys is the key table of the README.
func markdownKeys() string {
	var b strings.Builder
	b.WriteString("| key | used by | default | meaning |\n| --- | --- | --- | --- |\n")
	for _, k := range keys {
		used := "both"
		if k.Roles != roleBoth {
			used = Heartbeatd.String()
			if k.usedBy(Failoverd) {
				used = Failoverd.String()
			}
		}
		d := "—"
		if k.Required == "" {
			d = strings.TrimSuffix(strings.TrimPrefix(k.defaultDoc(), "Default: "), ".")
			d = renderDoc(d, markdown)
		}
		doc := k.Doc
		if f := k.flagDoc(); f != "" {
			doc += " " + f
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, used, d, renderDoc(doc, markdown))
	}
	return b.String()
}
