package schema_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/schema"
)

// FuzzLoad feeds arbitrary site and repo files (seeded with the golden cases) to the loader:
// it must never panic or hang, and must either return a Config or Diagnostics.
func FuzzLoad(f *testing.F) {
	certs, _ := os.ReadDir(filepath.Join("testdata", "certs"))
	base := fstest.MapFS{}
	for _, c := range certs {
		b, _ := os.ReadFile(filepath.Join("testdata", "certs", c.Name()))
		base["certs/"+c.Name()] = &fstest.MapFile{Data: b}
	}
	for _, kind := range []string{"valid", "invalid"} {
		cases, _ := os.ReadDir(filepath.Join("testdata", kind))
		for _, c := range cases {
			dir := filepath.Join("testdata", kind, c.Name())
			site, repo := []byte{}, []byte{}
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				b, _ := os.ReadFile(p)
				switch rel, _ := filepath.Rel(dir, p); {
				case rel == "edge.cue":
					repo = b
				case filepath.Dir(rel) == "sites" && filepath.Ext(rel) == ".cue" && len(site) == 0:
					site = b
				}
				return nil
			})
			f.Add(site, repo)
		}
	}
	now := func() time.Time { return goldenNow }
	f.Fuzz(func(t *testing.T, site, repo []byte) {
		fsys := fstest.MapFS{}
		for k, v := range base {
			fsys[k] = v
		}
		// The same content under several names: the file-name check and the label check.
		for _, name := range []string{"a", "c", "b"} {
			fsys["sites/"+name+".cue"] = &fstest.MapFile{Data: site}
		}
		if len(repo) > 0 {
			fsys["edge.cue"] = &fstest.MapFile{Data: repo}
		}
		cfg, err := schema.NewLoader(schema.LoaderOptions{Now: now}).Load(fsys)
		switch e := err.(type) {
		case nil:
			if cfg == nil {
				t.Fatal("nil config and nil error")
			}
			checkDiags(t, cfg.Warnings)
		case schema.Diagnostics:
			if cfg != nil || len(e) == 0 {
				t.Fatalf("invalid repo: config %v, %d diagnostics", cfg != nil, len(e))
			}
			checkDiags(t, e)
		default:
			t.Fatalf("error is %T, not Diagnostics: %v", err, err)
		}
	})
}

// checkDiags fails on a diagnostic without a file, a message or a position.
func checkDiags(t *testing.T, ds schema.Diagnostics) {
	t.Helper()
	for _, d := range ds {
		if d.Message == "" || d.File == "" || d.Line < 1 || d.Col < 1 {
			t.Fatalf("diagnostic without file, message or position: %+v", d)
		}
	}
}
