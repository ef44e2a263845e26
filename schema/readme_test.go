package schema

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeExamples evaluates every CUE example in README.md so the reference stays true.
func TestReadmeExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```cue\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d cue blocks in README.md; want at least 3", len(blocks))
	}
	ev, err := newEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range blocks {
		src := []byte(m[1])
		var ds []Diagnostic
		if name := regexp.MustCompile(`sites: "?([a-z-]+)"?:`).FindStringSubmatch(m[1]); name != nil {
			_, ds = ev.evalSite(name[1], "sites/"+name[1]+".cue", src)
		} else if strings.Contains(m[1], "policy:") || strings.Contains(m[1], "issuers:") {
			_, ds = ev.evalRepo("edge.cue", src)
		} else {
			continue
		}
		for _, d := range ds {
			t.Errorf("README block %d: %v", i, d)
		}
	}
}
