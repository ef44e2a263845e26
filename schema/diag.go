package schema

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Severity says whether a Diagnostic makes the repo invalid.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a config repo, with its exact position.
//
// Its text form (String) is
//
//	file:line:col: severity: message
//
// always with a line and column: a problem with a file as a whole (its size, its name, its
// type, a link, a certificate file's content) points at 1:1. The file name is printed as it
// is, unless it holds characters that are not printable (a newline, a control character,
// invalid UTF-8, ...): then it is quoted Go-style ("sites/a\nb.cue"), so no file name can
// forge a line of output. Such characters in the message are escaped the same way.
type Diagnostic struct {
	// File is the path relative to the repo root, slash-separated.
	File string `json:"file"`
	// Line and Col are 1-based. Load never returns zero; a problem with the whole file is at
	// 1:1 (String prints a zero position as 1:1 too).
	Line int `json:"line"`
	Col  int `json:"col"`
	// Severity is error or warning.
	Severity Severity `json:"severity"`
	// Message says what is wrong and what would be right, in plain words.
	Message string `json:"message"`
}

// String formats the diagnostic as file:line:col: severity: message (see Diagnostic).
func (d Diagnostic) String() string {
	line, col := d.Line, d.Col
	if line <= 0 {
		line, col = 1, 1
	}
	if col <= 0 {
		col = 1
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", QuoteName(d.File), line, col, d.Severity, EscapeText(d.Message))
}

// Diagnostics is a list of problems; as an error it is returned by Load when the repo is
// invalid.
type Diagnostics []Diagnostic

// Error joins the diagnostics, one per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// atFileStart gives every diagnostic without a position the position 1:1 (the file as a
// whole).
func atFileStart(ds []Diagnostic) {
	for i := range ds {
		if ds[i].Line <= 0 {
			ds[i].Line, ds[i].Col = 1, 1
		}
		if ds[i].Col <= 0 {
			ds[i].Col = 1
		}
	}
}

// QuoteName returns a file name for text output: as it is when every character is
// printable, else quoted with strconv.Quote, so a crafted name cannot start a new line or
// hide characters.
func QuoteName(s string) string {
	if printable(s) {
		return s
	}
	return strconv.Quote(s)
}

// EscapeText escapes, strconv-style, the characters of s that are not printable (newlines,
// control and format characters, invalid UTF-8) and leaves the rest as it is.
func EscapeText(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case isPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

func printable(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || !isPrint(r) {
			return false
		}
		i += n
	}
	return true
}

// isPrint is unicode.IsPrint (letters, marks, numbers, punctuation, symbols and the ASCII
// space), which excludes control and format characters such as bidirectional overrides.
func isPrint(r rune) bool { return unicode.IsPrint(r) }
