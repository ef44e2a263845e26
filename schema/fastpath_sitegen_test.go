package schema_test

import (
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
)

// TestFastPathTakesSitegenSites: every site file sitegen writes (the benchmarks' and the
// demo's), in each of its variants, is taken by the fast path with CUE's declaration.
func TestFastPathTakesSitegenSites(t *testing.T) {
	keys := []schema.KeyRef{
		{},
		{Mount: "secret", Path: "edge/x", Field: "key"},
		{Mount: "kv", Path: "edge/x/y", Field: "pem"},
		{Mount: "kv", Path: "edge/x", Field: "pem", Version: 12},
		{Mount: "secret", Path: "edge/x", Field: "key", Version: 2147483647},
	}
	ups := [][]string{
		{"http://127.0.0.1:3001"},
		{"http://127.0.0.1:3001", "https://backend.internal:8443/base/path"},
		nil,
	}
	n := 0
	for i, key := range keys {
		for j, up := range ups {
			for _, dflt := range []bool{false, true} {
				name := sitegen.SiteName(n)
				s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test", "*." + name + ".example.test"},
					Upstreams: up, Default: dflt, Key: key}
				if s.Key.Path == "" {
					s.Key.Path = "edge/" + name
				}
				if up == nil || (i+j)%2 == 1 {
					s.RedirectTo = fmt.Sprintf("https://%d.elsewhere.test", n)
				}
				if up != nil && s.RedirectTo != "" {
					s.Hosts = append(s.Hosts, "www."+name+".example.test")
				}
				src := sitegen.SiteFile(s, "certs/"+name+".pem")
				took, diff := schema.FastPathCompare(t, name, "sites/"+name+".cue", src)
				if diff != "" {
					t.Errorf("%s: %s\n%s", name, diff, src)
				} else if !took && (up == nil || s.RedirectTo == "") {
					t.Errorf("%s: the fast path declined\n%s", name, src)
				}
				n++
			}
		}
	}
}

// TestFastPathLoadEqualsCUE: whole loads of every golden case and of a generated repo give
// the same Config and the same diagnostics with the fast path as with CUE alone.
func TestFastPathLoadEqualsCUE(t *testing.T) {
	now := func() time.Time { return schema.TestNow }
	gen := t.TempDir()
	if _, err := sitegen.WriteRepo(gen, 40, sitegen.Options{RepoFile: "package edge\n\ndefaults: hsts: false\n"}); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{"sitegen": gen}
	for _, kind := range []string{"valid", "invalid"} {
		for _, c := range goldenCases(t, kind) {
			dirs[c.name] = t.TempDir()
			c.writeRepo(t, dirs[c.name])
		}
	}
	fast := map[string]*schema.Loader{}
	for name := range dirs {
		fast[name] = schema.NewLoader(schema.LoaderOptions{Now: now})
	}
	schema.DisableFastPath(t)
	for name, dir := range dirs {
		want, werr := schema.NewLoader(schema.LoaderOptions{Now: now}).Load(os.DirFS(dir))
		got, gerr := fast[name].Load(os.DirFS(dir))
		if !reflect.DeepEqual(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("%s: the load with the fast path differs:\n%v\n%v\nwith CUE alone:\n%v\n%v", name, got, gerr, want, werr)
		}
	}
}
