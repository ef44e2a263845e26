package schema

import (
	"fmt"
	"strings"
)

// Severity says whether a Diagnostic makes the repo invalid.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a config repo, with its exact position.
type Diagnostic struct {
	// File is the path relative to the repo root, slash-separated.
	File string `json:"file"`
	// Line and Col are 1-based; zero when the problem concerns the file as a whole.
	Line int `json:"line"`
	Col  int `json:"col"`
	// Severity is error or warning.
	Severity Severity `json:"severity"`
	// Message says what is wrong and what would be right, in plain words.
	Message string `json:"message"`
}

// String formats the diagnostic as file:line:col: severity: message.
func (d Diagnostic) String() string {
	pos := d.File
	if d.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Col)
	}
	return fmt.Sprintf("%s: %s: %s", pos, d.Severity, d.Message)
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
