package schema_test

import (
	"errors"
	"fmt"
	"os"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/schema"
)

// A config repo is any fs.FS: here one in memory, with a site file and the certificate it
// names. edgectl validate loads a directory (os.DirFS) the same way; the agent loads the
// files of a git commit.
func ExampleLoader_Load() {
	cert, err := os.ReadFile("testdata/certs/c.pem") // c.example, valid until 2046
	if err != nil {
		panic(err)
	}
	repo := fstest.MapFS{
		"sites/c.cue": {Data: []byte(`package edge

sites: c: {
	hosts: ["c.example"]
	cert: "certs/c.pem"
	key: path: "edge/c"
	routes: {
		"/": upstreams: ["http://127.0.0.1:3001", "http://127.0.0.1:3002"]
		"/api/": {upstreams: ["http://127.0.0.1:4001"], strip_prefix: true}
	}
}
`)},
		"certs/c.pem": {Data: cert},
	}
	l := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }})
	cfg, err := l.Load(repo)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range cfg.Sites {
		fmt.Printf("site %s: hosts %v, cert %s, key %s:%s#%s\n", s.Name, s.Hosts, s.Cert.File, s.Key.Mount, s.Key.Path, s.Key.Field)
		for _, r := range s.Routes {
			fmt.Printf("  route %s: %d upstream(s), strip_prefix %v\n", r.Path, len(r.Upstreams), r.StripPrefix)
		}
	}
	fmt.Println(len(cfg.Warnings), "warnings")
	// Output:
	// site c: hosts [c.example], cert certs/c.pem, key secret:edge/c#key
	//   route /: 2 upstream(s), strip_prefix false
	//   route /api: 1 upstream(s), strip_prefix true
	// 0 warnings
}

// An invalid repo gives schema.Diagnostics: the problems of every file, each at its line
// and column, saying what would be right (as edgectl validate prints them).
func ExampleLoader_Load_invalid() {
	repo := fstest.MapFS{
		"sites/c.cue": {Data: []byte(`package edge

sites: c: {
	hosts: ["c.example"]
	cert: "certs/c.pem"
	key: path: "edge/c"
	routes: "/": upstream: ["http://127.0.0.1:3001"]
}
`)},
		"sites/d.cue": {Data: []byte(`package edge

sites: d: {
	hosts: ["d.example", "D.Example."]
	cert: "certs/d.pem"
	key: path: "edge/d"
	routes: "/": upstreams: ["http://127.0.0.1:3001"]
}
`)},
	}
	_, err := schema.NewLoader(schema.LoaderOptions{}).Load(repo)
	var ds schema.Diagnostics
	if errors.As(err, &ds) {
		for _, d := range ds {
			fmt.Println(d)
		}
	}
	// Output:
	// sites/c.cue:7:15: error: unknown field "upstream" in route "/"; did you mean "upstreams"? (route "/" may have: upstreams, balance, strip_prefix, timeouts, retries, health_check, compress, cache_control, cors, access, rate_limit, basic_auth, forward_auth, sticky, static)
	// sites/d.cue:4:23: error: host "d.example" is listed twice ("D.Example." is the same name); also at line 4
}
