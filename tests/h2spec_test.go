package tests

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testenv"
)

// h2specMinPassed is the pinned minimum number of h2spec cases the edge passes. Raise it
// when a fix lands (the test says so when more pass).
const h2specMinPassed = 142

// h2specKnownFailures are the h2spec cases the edge is known to fail, each explained in
// edge/doc.go (section "HTTP/2 conformance"). A case failing that is not listed fails the
// test; a listed case that passes fails it too, so the list and the pin get tightened.
var h2specKnownFailures = map[string]string{
	"http2/6.5.3/1":   "SETTINGS with a duplicate setting: Go's server hangs up (GOAWAY PROTOCOL_ERROR) instead of applying them in order",
	"http2/8.1.2.2/1": "connection-specific header: Go's server answers 400 (the request is refused, never forwarded) instead of RST_STREAM",
	"http2/8.1.2.2/2": `TE other than "trailers": Go's server answers 400 (the request is refused, never forwarded) instead of RST_STREAM`,
}

// TestH2spec runs the h2spec HTTP/2 conformance suite (all 145 cases of v2.2.1, strict
// ones excluded) against the real agent binary serving a real backend over TLS with ALPN
// h2, and checks the pass count against a pinned minimum and the exact set of known
// failures.
func TestH2spec(t *testing.T) {
	h2spec := testenv.H2specBinary(t)
	d := newDirRepo(t)
	// h2spec dials 127.0.0.1 (no SNI) with :authority 127.0.0.1:port: the default site
	// answers both.
	s := sitegen.Site{Name: "conformance", Hosts: []string{"conformance.example.test"}, Upstreams: []string{d.backend},
		Default: true}
	if _, err := sitegen.WriteSite(d.repo.Dir, s, sitegen.Options{CA: d.ca, KeyDir: d.keyDir}); err != nil {
		t.Fatal(err)
	}
	d.repo.Commit("add conformance", nil)
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--key-dir", d.keyDir)
	p.waitFor("conformance served", 20*time.Second, func() bool { return p.serves("conformance.example.test") })

	report := filepath.Join(t.TempDir(), "h2spec.xml")
	port := p.https[strings.LastIndex(p.https, ":")+1:]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// -o: seconds h2spec waits for each expected frame; generous, so that a loaded machine
	// is not taken for a server that does not answer (no non-strict case passes by timing
	// out). --max-header-length: case 4.2/3 sends five headers of this length in one
	// HEADERS frame to exceed SETTINGS_MAX_FRAME_SIZE, assuming the 16 KiB default; edge
	// advertises 64 KiB (Limits.MaxReadFrameSize), and five Huffman-coded 16 KiB values
	// (70 KB) exceed it, so the case checks what it means to.
	cmd := exec.CommandContext(ctx, h2spec, "-t", "-k", "-h", "127.0.0.1", "-p", port, "-o", "10",
		"--max-header-length", "16384", "-j", report)
	out, err := cmd.CombinedOutput()
	// h2spec exits 1 when any case fails; the report says which.
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("run h2spec: %v\n%s", err, out)
	}
	res, rerr := readH2specReport(report)
	if rerr != nil {
		t.Fatalf("h2spec (%v): %v\n%s", err, rerr, out)
	}
	t.Logf("h2spec %s: %d passed, %d failed, %d skipped of %d", testenv.H2specVersion,
		len(res.passed), len(res.failed), len(res.skipped), res.total())
	for _, id := range res.failed {
		t.Logf("h2spec failure %s: %s", id, res.desc[id])
	}
	checkH2specResults(t, res, string(out))
}

// checkH2specResults compares the results with the pin and the known failures.
func checkH2specResults(t *testing.T, res *h2specResults, out string) {
	t.Helper()
	if len(res.passed) < h2specMinPassed {
		t.Errorf("h2spec: %d passed; want at least %d", len(res.passed), h2specMinPassed)
	}
	if len(res.passed) > h2specMinPassed {
		t.Errorf("h2spec: %d passed, more than the pinned %d: raise h2specMinPassed", len(res.passed), h2specMinPassed)
	}
	for _, id := range res.failed {
		if _, known := h2specKnownFailures[id]; !known {
			t.Errorf("h2spec: new failure %s (%s)\n%s", id, res.desc[id], res.detail[id])
		}
	}
	for id, why := range h2specKnownFailures {
		if !slices.Contains(res.failed, id) {
			t.Errorf("h2spec: known failure %s (%s) no longer fails: drop it from h2specKnownFailures and edge/doc.go", id, why)
		}
	}
	if t.Failed() {
		t.Logf("h2spec output:\n%s", out)
	}
}

// h2specResults are the outcomes of one h2spec run by case ID ("http2/6.2/4": section
// and 1-based case number, as h2spec's command line takes them).
type h2specResults struct {
	passed, failed, skipped []string
	desc, detail            map[string]string
}

func (r *h2specResults) total() int { return len(r.passed) + len(r.failed) + len(r.skipped) }

// readH2specReport reads h2spec's JUnit report.
func readH2specReport(path string) (*h2specResults, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read h2spec report: %w", err)
	}
	var rep struct {
		Suites []struct {
			Package string `xml:"package,attr"`
			Cases   []struct {
				Desc    string  `xml:"classname,attr"`
				Failure *string `xml:"failure"`
				Error   *string `xml:"error"`
				Skipped *string `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("parse h2spec report %s: %w", path, err)
	}
	res := &h2specResults{desc: map[string]string{}, detail: map[string]string{}}
	for _, s := range rep.Suites {
		for i, c := range s.Cases {
			id := fmt.Sprintf("%s/%d", s.Package, i+1)
			res.desc[id] = c.Desc
			switch {
			case c.Failure != nil || c.Error != nil:
				res.failed = append(res.failed, id)
				res.detail[id] = strings.TrimSpace(deref(c.Failure) + deref(c.Error))
			case c.Skipped != nil:
				res.skipped = append(res.skipped, id)
			default:
				res.passed = append(res.passed, id)
			}
		}
	}
	if res.total() == 0 {
		return nil, fmt.Errorf("h2spec report %s lists no case", path)
	}
	return res, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
