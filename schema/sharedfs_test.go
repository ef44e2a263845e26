package schema_test

import (
	"testing"

	"github.com/edgectl/edge/schema"
)

// sharedFS is a schema.SharedFileFS handing out the MapFS's own bytes, and a HashFS, as
// gitsource.TreeFS is both.
type sharedFS struct{ hashingFS }

func (s sharedFS) ReadFileShared(name string) ([]byte, error) {
	s.count("shared:" + name)
	f, ok := s.MapFS[name]
	if !ok {
		return s.MapFS.ReadFile(name) // the error
	}
	return f.Data, nil
}

// TestLoaderKeepsSharedCertificate: given a SharedFileFS, the loader keeps the certificate
// file's content as the file system gave it (no copy of its own); site files are read as
// usual.
func TestLoaderKeepsSharedCertificate(t *testing.T) {
	g, files, hashes := acmeSiteFiles(t)
	fsys := sharedFS{hashingFS{&readCountingFS{MapFS: files, reads: map[string]int{}}, hashes}}
	cfg, err := schema.NewLoader(schema.LoaderOptions{}).Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sites) != 1 {
		t.Fatalf("sites: %d", len(cfg.Sites))
	}
	pem := cfg.Sites[0].Cert.PEM
	if want := files[g.CertFile].Data; len(pem) == 0 || &pem[0] != &want[0] {
		t.Error("the certificate's PEM is a copy, not the file system's content")
	}
	if fsys.reads["shared:"+g.CertFile] != 1 || fsys.reads["shared:"+g.File] != 0 {
		t.Errorf("reads %v: want the certificate (only) read shared, once", fsys.reads)
	}
	if cfg.Sites[0].Cert.Leaf == nil {
		t.Error("no parsed chain")
	}
}
