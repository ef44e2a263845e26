package schema_test

import (
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/schema"
)

// staticRepo is a config repo whose site "a" serves www/a at "/".
func staticRepo(t *testing.T, index string) fstest.MapFS {
	t.Helper()
	pemA, err := os.ReadFile("testdata/certs/a.pem")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{
		"sites/a.cue": {Data: []byte(`package edge

sites: a: {
	hosts: ["a.example"]
	cert: "certs/a.pem"
	key: path: "edge/a"
	routes: "/": static: repo_dir: "www/a"
}
`)},
		"certs/a.pem":         {Data: pemA},
		"www/a/index.html":    {Data: []byte(index)},
		"www/a/js/app.js":     {Data: []byte("console.log(1)")},
		"www/b/unrelated.txt": {Data: []byte("not served by a")},
	}
}

// TestStaticRepoDirDigest: a commit changing only a served file changes the site (its
// digest, its files and the plan); an unchanged repo gives the very same site; a file
// outside the served directory changes nothing.
func TestStaticRepoDirDigest(t *testing.T) {
	l := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }})
	repo := staticRepo(t, "v1")
	c1, err := l.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	s1 := c1.Sites[0]
	st := s1.Routes[0].Static
	if st == nil || st.FS == nil || st.RepoDir != "www/a" || st.ContentDigest == "" {
		t.Fatalf("static route not assembled: %+v", st)
	}
	if b, err := fs.ReadFile(st.FS, "index.html"); err != nil || string(b) != "v1" {
		t.Fatalf("index.html from the route's files: %q, %v", b, err)
	}
	if _, err := fs.ReadFile(st.FS, "../b/unrelated.txt"); err == nil {
		t.Fatal("the route's files reach outside www/a")
	}

	c2, err := l.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Sites[0] != s1 {
		t.Error("unchanged repo: the site was built again")
	}

	repo["www/b/unrelated.txt"] = &fstest.MapFile{Data: []byte("changed")}
	c3, err := l.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	if c3.Sites[0].Digest != s1.Digest {
		t.Error("a file outside the served directory changed the site's digest")
	}

	repo["www/a/index.html"] = &fstest.MapFile{Data: []byte("v2")}
	c4, err := l.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	s4 := c4.Sites[0]
	if s4.Digest == s1.Digest || s4.Routes[0].Static.ContentDigest == st.ContentDigest {
		t.Fatal("a content-only change kept the site's digest: it would not be served")
	}
	if b, _ := fs.ReadFile(s4.Routes[0].Static.FS, "index.html"); string(b) != "v2" {
		t.Errorf("after the change, index.html is %q", b)
	}
	p := schema.Diff(c1, c4)
	if len(p.Changed) != 1 || len(p.Changed[0].Changes) != 1 || !strings.Contains(p.Changed[0].Changes[0].Detail, "content of www/a changed (deploy)") {
		t.Errorf("plan: %+v; want one change saying the content changed", p.Changed)
	}
}

// TestStaticRepoDirLimits: a served directory over the file-count limit is refused at the
// repo_dir's position.
func TestStaticRepoDirLimits(t *testing.T) {
	repo := staticRepo(t, "v1")
	for i := range schema.MaxStaticFiles {
		repo["www/a/many/f"+strconv.Itoa(i)] = &fstest.MapFile{Data: []byte("x")}
	}
	_, err := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }}).Load(repo)
	if err == nil || !strings.Contains(err.Error(), `sites/a.cue:7:23: error: route "/": repo_dir "www/a" holds more than 10000 files`) {
		t.Fatalf("err = %v; want the file limit at the repo_dir", err)
	}
}
