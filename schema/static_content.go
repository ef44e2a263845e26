package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/edgectl/edge/edge/site"
)

// Limits on a directory of the config repo served by a static route (repo_dir): it is
// held in memory with the revision, so it stays the size of a small site.
const (
	// MaxStaticFiles is the most files (hidden ones included) a repo_dir may hold.
	MaxStaticFiles = 10000
	// MaxStaticFileSize is the largest file of a repo_dir: a revision does not hold the
	// content of larger ones (gitsource.MaxRevisionFileSize).
	MaxStaticFileSize = 8 << 20
	// MaxStaticBytes bounds the total size of a repo_dir's files.
	MaxStaticBytes = 256 << 20
)

// staticSet is what the static routes of one site serve from the config repo: each
// repo_dir's files, and a digest of them all (zero when there are none).
type staticSet struct {
	dirs map[string]staticDir
	sum  [32]byte
}

// staticDir is a repo_dir's files and the digest of their content.
type staticDir struct {
	fsys fs.FS
	sum  [32]byte
}

// staticDirs reads the repo_dir of every static route of d from r: each one's files (a
// sub-tree of the revision) and a digest of its names and content, and a digest of them
// all (zero when d serves none). A missing, hidden or oversized directory is an error at
// the repo_dir.
func staticDirs(r *repoReader, d *siteDecl) (staticSet, []Diagnostic) {
	var ds []Diagnostic
	out := map[string]staticDir{}
	all := sha256.New()
	for _, rt := range d.Routes {
		if rt.Static == nil || rt.Static.RepoDir.S == "" {
			continue
		}
		dir := rt.Static.RepoDir
		if _, done := out[dir.S]; done {
			continue
		}
		sd, err := readStaticDir(r, dir.S)
		if err != nil {
			ds = append(ds, Diagnostic{File: d.File, Line: dir.P.Line, Col: dir.P.Col, Severity: SeverityError,
				Message: fmt.Sprintf("route %q: repo_dir %q %v", rt.Path.S, dir.S, err)})
			continue
		}
		out[dir.S] = sd
		all.Write([]byte(dir.S + "\x00"))
		all.Write(sd.sum[:])
	}
	set := staticSet{dirs: out}
	if len(out) > 0 {
		copy(set.sum[:], all.Sum(nil))
	}
	return set, ds
}

// readStaticDir walks dir of the repo within the limits and digests it: each file's path,
// mode and content ID (the HashFS's hash, else the SHA-256 of the content), in the walk's
// lexical order. Symbolic links are digested by their target (they are not served).
func readStaticDir(r *repoReader, dir string) (staticDir, error) {
	r.note(dir) // and everything below it
	info, err := lstat(r.fsys, dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return staticDir{}, errors.New("does not exist in the repo")
	case err != nil:
		return staticDir{}, fmt.Errorf("cannot be read: %v", cleanErr(err))
	case !info.IsDir():
		return staticDir{}, errors.New("is not a directory (a symbolic link or a file); name the directory itself")
	}
	sub, err := fs.Sub(r.fsys, dir)
	if err != nil {
		return staticDir{}, fmt.Errorf("cannot be read: %v", cleanErr(err))
	}
	h := sha256.New()
	var files, total int64
	err = fs.WalkDir(sub, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		if files++; files > MaxStaticFiles {
			return fmt.Errorf("holds more than %d files; serve a larger site from a content repository (git) or a directory of the server (dir)", MaxStaticFiles)
		}
		id, size, err := contentID(sub, p, e)
		if err != nil {
			return err
		}
		if total += size; total > MaxStaticBytes {
			return fmt.Errorf("holds more than %d bytes; serve a larger site from a content repository (git) or a directory of the server (dir)", MaxStaticBytes)
		}
		fmt.Fprintf(h, "%s\x00%o\x00", p, e.Type())
		h.Write(id[:])
		return nil
	})
	if err != nil {
		return staticDir{}, err
	}
	sd := staticDir{fsys: sub}
	copy(sd.sum[:], h.Sum(nil))
	return sd, nil
}

// contentID identifies the content of file p of fsys (a regular file or a link) and
// returns its size.
func contentID(fsys fs.FS, p string, e fs.DirEntry) ([32]byte, int64, error) {
	info, err := e.Info()
	if err != nil {
		return [32]byte{}, 0, fmt.Errorf("file %s cannot be read: %v", p, cleanErr(err))
	}
	if e.Type()&fs.ModeSymlink != 0 {
		target, err := fs.ReadLink(fsys, p)
		if err != nil {
			return [32]byte{}, 0, fmt.Errorf("link %s cannot be read: %v", p, cleanErr(err))
		}
		return sha256.Sum256([]byte(target)), 0, nil
	}
	if !info.Mode().IsRegular() {
		return [32]byte{}, 0, nil // a submodule: listed, never served
	}
	if info.Size() > MaxStaticFileSize {
		return [32]byte{}, 0, fmt.Errorf("file %s is %d bytes, larger than the limit of %d bytes for a file of the config repo served", p, info.Size(), MaxStaticFileSize)
	}
	if hfs, ok := fsys.(HashFS); ok {
		if sum, ok := hfs.FileHash(p); ok && len(sum) > 0 {
			return hashFSID(sum), info.Size(), nil
		}
	}
	f, err := fsys.Open(p)
	if err != nil {
		return [32]byte{}, 0, fmt.Errorf("file %s cannot be read: %v", p, cleanErr(err))
	}
	defer f.Close()
	s := sha256.New()
	n, err := io.Copy(s, io.LimitReader(f, MaxStaticFileSize+1))
	if err != nil || n > MaxStaticFileSize {
		return [32]byte{}, 0, fmt.Errorf("file %s cannot be read within %d bytes: %v", p, MaxStaticFileSize, err)
	}
	var id [32]byte
	copy(id[:], s.Sum(nil))
	return id, n, nil
}

// hasStatic reports whether d has a static route.
func hasStatic(d *siteDecl) bool {
	for _, r := range d.Routes {
		if r.Static != nil {
			return true
		}
	}
	return false
}

// assembleStatic makes the site.Static of a checked static route, with its repo_dir's
// files from st.
func assembleStatic(d *staticDecl, st staticSet) *site.Static {
	s := &site.Static{
		Dir:             d.Dir.S,
		Index:           d.Index,
		SPA:             d.SPA,
		Browse:          d.Browse,
		NoPrecompressed: !d.Precomp,
	}
	if s.Index == nil {
		s.Index = []string{} // none declared: "index: []" turns index files off
	}
	if d.RepoDir.S != "" {
		sd := st.dirs[d.RepoDir.S]
		s.FS, s.RepoDir, s.ContentDigest = sd.fsys, d.RepoDir.S, hex.EncodeToString(sd.sum[:])
	}
	if g := d.Git; g != nil {
		s.Repo = &site.ContentRepo{URL: g.URL.S, Commit: g.Commit.S, Path: g.Path}
	}
	return s
}
