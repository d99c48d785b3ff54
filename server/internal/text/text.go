// Package text shortens what others printed (interpreter output, command
// lines, protocol frames) before it goes into a message for the user. Every
// length here counts characters (runes), never bytes, so a cut never splits
// a character.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ellipsis marks text that was cut.
const Ellipsis = "…"

// Truncate returns s cut to at most n characters, the last of them an
// ellipsis when anything was cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return string([]rune(s)[:n-1]) + Ellipsis
}

// OneLine makes s fit on one line of at most n characters: line breaks, NULs
// and other control characters become spaces, runs of white space collapse
// to one, and the ends are trimmed. A holder's command line (its arguments
// are NUL-separated, and may hold newlines) reads as one line this way.
func OneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return Truncate(strings.Join(strings.Fields(s), " "), n)
}

// FirstLine is the first non-blank line of s, without its line ending
// (Windows programs end lines with \r\n), cut to n characters.
func FirstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return Truncate(strings.TrimRight(line, "\r"), n)
}

// LastLine is the last non-blank line of s, without its line ending, cut to
// n characters.
func LastLine(s string, n int) string {
	s = strings.TrimSpace(s)
	return Truncate(strings.TrimSpace(s[strings.LastIndex(s, "\n")+1:]), n)
}
