package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgectl/edge/schema"
)

// forgedName is a site file name that, printed raw, would add a diagnostic line of its own
// (and an ANSI escape that erases the terminal line).
const forgedName = "sites/x\nedge.cue:1:1: error: forged\x1b[2K.cue"

// checkNoForgery fails when out has a line starting with the forged text, a raw escape
// character or a diagnostic without a position.
func checkNoForgery(t *testing.T, what, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " -`"), "edge.cue:1:1: error: forged") {
			t.Errorf("%s: the crafted name forged a line:\n%q", what, l)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("%s: raw escape character in the output:\n%q", what, out)
	}
	if strings.Contains(out, ":0:0") || strings.Contains(out, "line=0") {
		t.Errorf("%s: a diagnostic without a position:\n%s", what, out)
	}
}

// TestValidateEscapesFileNames: a crafted file name cannot forge a line of validate's text
// or github output, and the file-level error has a line and column.
func TestValidateEscapesFileNames(t *testing.T) {
	repo := newConfigRepo(t)
	repo.write(forgedName, "package edge\n")
	code, out, _ := runCmd("validate", repo.dir)
	want := `"` + repo.dir + `/sites/x\nedge.cue:1:1: error: forged\x1b[2K.cue":1:1: error: `
	if code != exitInvalid || !strings.Contains(out, want) {
		t.Errorf("validate: exit %d; want 1 with %s\n%s", code, want, out)
	}
	checkNoForgery(t, "validate", out)
	_, out, _ = runCmd("validate", "--format", "github", repo.dir)
	checkNoForgery(t, "validate --format github", out)
	if !strings.Contains(out, ",line=1,col=1::") {
		t.Errorf("github: want line=1,col=1 on the file-level error:\n%s", out)
	}
}

// TestPlanEscapesFileNames: the same for plan's text and markdown reports (git refuses
// such names in commits, but a tree written by another tool may hold one).
func TestPlanEscapesFileNames(t *testing.T) {
	d := schema.Diagnostic{File: forgedName, Severity: schema.SeverityError, Message: "names " + forgedName}
	r := planReport{Errors: schema.Diagnostics{d}}
	var text, md bytes.Buffer
	r.text(&text)
	r.markdown(&md)
	checkNoForgery(t, "plan text", text.String())
	checkNoForgery(t, "plan markdown", md.String())
	if want := "`\"sites/x\\nedge.cue:1:1: error: forged\\x1b[2K.cue\":1:1`"; !strings.Contains(md.String(), want) {
		t.Errorf("markdown: want %s in\n%s", want, md.String())
	}
}
