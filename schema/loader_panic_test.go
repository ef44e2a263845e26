package schema

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestLoadSitePanicIsADiagnostic: a panic while a worker goroutine loads one site file (as a
// parser could panic on hostile content) does not end the process: that file gets an error
// diagnostic, without the panic value (which may quote the content), and the next load
// without the panic loads it.
func TestLoadSitePanicIsADiagnostic(t *testing.T) {
	fsys := testRepo(t)
	l := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }})
	testHookEvaluating = func(file string) {
		if file == "sites/b.cue" {
			panic("hostile content of " + file)
		}
	}
	t.Cleanup(func() { testHookEvaluating = nil })
	_, err := l.Load(fsys)
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("Load with a panicking site: %v; want Diagnostics", err)
	}
	var found bool
	for _, d := range ds {
		if d.File == "sites/b.cue" && d.Severity == SeverityError && strings.Contains(d.Message, "internal error: string") {
			found = true
		}
		if d.File != "sites/b.cue" || strings.Contains(d.Message, "hostile") {
			t.Errorf("diagnostic %+v", d)
		}
	}
	if !found {
		t.Errorf("diagnostics %v; want an internal error for sites/b.cue", ds)
	}
	testHookEvaluating = nil
	cfg, err := l.Load(fsys)
	if err != nil {
		t.Fatalf("Load after: %v", err)
	}
	if len(cfg.Sites) != 3 {
		t.Errorf("%d sites after; want 3", len(cfg.Sites))
	}
}
