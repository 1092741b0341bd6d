package safefile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A file name may hold any byte but / and NUL, among them a terminal's
// control sequences: a name that moves the cursor up and erases a line can
// hide an error on root's terminal and print a fake "ok". What the daemons
// print of a name is made visible first (Visible), and a fix that names a
// file quotes it so that it can be pasted as it is shown (ShellQuote).

// printable says whether r, of width bytes in a string, prints as itself:
// a letter, mark, number, punctuation, symbol or space, and valid UTF-8.
func printable(r rune, width int) bool {
	return !(r == utf8.RuneError && width == 1) && strconv.IsGraphic(r)
}

// Visible is s with each character that does not print as itself (a
// control character such as ESC or a line break, an invisible format
// character, a byte that is not UTF-8) written as its Go escape: \x1b,
// \n, \u202e, \xff.
func Visible(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsGraphic(r) }) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case printable(r, w):
			b.WriteString(s[i : i+w])
		case r == utf8.RuneError && w == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		default:
			q := strconv.QuoteRuneToGraphic(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += w
	}
	return b.String()
}

// ShellQuote quotes path so that a fix can be pasted into a shell. A path
// with a character that does not print as itself is written in ANSI-C
// quotes (bash, zsh, ksh and POSIX.1-2024 sh: $'…\x1b…'), each byte of
// such a character as \xHH, so that what is shown is what is pasted and
// names the very file.
func ShellQuote(path string) string {
	if path != "" && strings.IndexFunc(path, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/._-+:%@,", c))
	}) < 0 {
		return path
	}
	if Visible(path) == path {
		return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(path); {
		r, w := utf8.DecodeRuneInString(path[i:])
		switch {
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case printable(r, w):
			b.WriteString(path[i : i+w])
		default:
			for _, c := range []byte(path[i : i+w]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		}
		i += w
	}
	b.WriteByte('\'')
	return b.String()
}
