package schema_test

import (
	"fmt"
	"testing"

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
