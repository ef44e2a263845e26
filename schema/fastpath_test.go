package schema

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// fastOutcome is what comparing the fast path with CUE on one file found.
type fastOutcome struct {
	took bool   // the fast path gave a declaration
	diff string // not empty: the fast path gave one CUE does not (the bug)
}

// compareFast evaluates the site file with the data fast path and with CUE (in this
// process). The fast path may decline; when it does not, CUE must report nothing and its
// declaration must be deep-equal to the fast path's.
func compareFast(ev *evaluator, name, file string, src []byte) fastOutcome {
	fd, ok := dataFastPath{}.evalSite(name, file, src)
	if !ok {
		return fastOutcome{}
	}
	cd, cds := safeEvalSite(ev, name, file, src)
	switch {
	case len(cds) > 0:
		return fastOutcome{took: true, diff: "the fast path accepted a file CUE reports: " + diagsText(cds)}
	case !reflect.DeepEqual(fd, cd):
		fj, _ := json.Marshal(fd)
		cj, _ := json.Marshal(cd)
		return fastOutcome{took: true, diff: "declarations differ:\nfast: " + string(fj) + "\ncue:  " + string(cj)}
	}
	return fastOutcome{took: true}
}

func diagsText(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String() + "; ")
	}
	return b.String()
}

// siteSample is a site file of the repo's examples or golden cases.
type siteSample struct {
	name, file string
	src        []byte
}

// repoSiteSamples returns every site file of examples/config and of the golden cases.
func repoSiteSamples(t testing.TB) []siteSample {
	t.Helper()
	var out []siteSample
	ex, err := filepath.Glob("../examples/config/sites/*.cue")
	if err != nil || len(ex) == 0 {
		t.Fatalf("no example sites (%v)", err)
	}
	for _, p := range ex {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, siteSample{strings.TrimSuffix(filepath.Base(p), ".cue"), "sites/" + filepath.Base(p), b})
	}
	cases, err := filepath.Glob("testdata/*/*.txtar")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases (%v)", err)
	}
	for _, p := range cases {
		out = append(out, archiveSites(readTxtar(t, p))...)
	}
	return out
}

func readTxtar(t testing.TB, p string) *txtar.Archive {
	t.Helper()
	ar, err := txtar.ParseFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return ar
}

// archiveSites returns the files sites/<name>.cue of a txtar archive.
func archiveSites(ar *txtar.Archive) []siteSample {
	var out []siteSample
	for _, f := range ar.Files {
		if dir, base := path.Split(f.Name); dir == "sites/" && strings.HasSuffix(base, ".cue") {
			out = append(out, siteSample{strings.TrimSuffix(base, ".cue"), f.Name, f.Data})
		}
	}
	return out
}

// TestFastPathMatchesCUERepoFiles: on every site file of the examples and the golden cases,
// the fast path declines or gives CUE's declaration; it takes the minimal golden sites.
func TestFastPathMatchesCUERepoFiles(t *testing.T) {
	ev, err := newEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	took := 0
	samples := repoSiteSamples(t)
	for _, s := range samples {
		o := compareFast(ev, s.name, s.file, s.src)
		if o.diff != "" {
			t.Errorf("%s: %s", s.file, o.diff)
		}
		if o.took {
			took++
		}
	}
	t.Logf("fast path took %d of %d site files", took, len(samples))
	for _, c := range []string{"minimal", "body-timeout"} {
		for _, s := range archiveSites(readTxtar(t, "testdata/valid/"+c+".txtar")) {
			if !compareFast(ev, s.name, s.file, s.src).took {
				t.Errorf("valid/%s: the fast path declined %s", c, s.file)
			}
		}
	}
}

// fastFull is a site using every field the fast path knows.
const fastFull = `package edge

// a comment
sites: "full-site": {
	hosts: ["full.example", "*.full.example", "Ünï.example"]
	default: true
	cert: "certs/full.pem"
	key: {mount: "kv", path: "edge/full", field: "pem", version: 7}
	routes: {
		"/": {
			upstreams: ["http://127.0.0.1:3001", {url: "https://10.0.0.2:8443/base", weight: 5}, {url: "http://[::1]:3003"}]
			balance: "least_conn"
			strip_prefix: false
			retries: 3
			timeouts: {connect: "2s", response: "1m30s", idle: "90s", body: "1d"}
			health_check: {path: "/healthz", interval: "5s", timeout: "1s", expect_status: 204}
		}
		"/api/": {upstreams: ["http://127.0.0.1:4000/v1"], strip_prefix: true, health_check: {}}
		"/b": upstreams: ["http://b.internal:80"]
	}
	redirects: [
		{to: "https://full.example", hosts: ["Ünï.example"], path: "/old", status: 301, keep_path: false},
		{to: "http://x.example", path: "/gone/"},
	]
	headers: {
		hsts: {max_age: "30d", include_subdomains: true, preload: false}
		set: {"X-Frame-Options": "DENY", Server: "edge", "x-a": "µ"}
		remove: ["X-Powered-By"]
	}
}
`

// TestFastPathTakesKnownFields: a file using every field the fast path knows is taken and
// equals CUE's declaration, as are variants of it.
func TestFastPathTakesKnownFields(t *testing.T) {
	ev, err := newEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string]string{
		"full":       fastFull,
		"hsts-off":   strings.Replace(fastFull, `hsts: {max_age: "30d", include_subdomains: true, preload: false}`, `hsts: false`, 1),
		"hsts-on":    strings.Replace(fastFull, `hsts: {max_age: "30d", include_subdomains: true, preload: false}`, `hsts: true`, 1),
		"no-hdrs":    strings.Replace(fastFull, `set: {"X-Frame-Options": "DENY", Server: "edge", "x-a": "µ"}`, `set: {}`, 1),
		"hdrs-empty": fastFull[:strings.Index(fastFull, "\theaders: {")] + "\theaders: {}\n}\n",
		"hdrs-hsts":  "package edge\n\nsites: \"full-site\": {hosts: [\"r.example\"], cert: \"c/r.pem\", key: {path: \"p\", version: 1}, routes: \"/\": {upstreams: [\"http://a\"], health_check: expect_status: 200}, headers: hsts: true, redirects: []}\n",
		"redironly":  "package edge\n\nsites: \"full-site\": {hosts: [\"r.example\"], cert: \"c/r.pem\", key: path: \"p\", redirects: [{to: \"https://a.example\"}]}\n",
	}
	for name, src := range variants {
		o := compareFast(ev, "full-site", "sites/full-site.cue", []byte(src))
		if o.diff != "" {
			t.Errorf("%s: %s", name, o.diff)
		}
		if !o.took {
			t.Errorf("%s: the fast path declined it", name)
		}
	}
}
