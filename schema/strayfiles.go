package schema

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// strayRoot warns about entries at the repo root that look like config but are never
// read: a .cue file other than edge.cue (a policy.cue, an Edge.cue), and a directory named
// like sites/ ("site", "Sites", "sties") holding .cue files. Each points at the entry
// (1:1).
func strayRoot(r *repoReader) []Diagnostic {
	ents, err := fs.ReadDir(r.fsys, ".")
	if err != nil {
		return nil // reported (or not a problem) where sites/ and edge.cue are read
	}
	var ds []Diagnostic
	warn := func(file, format string, args ...any) {
		ds = append(ds, Diagnostic{File: file, Line: 1, Col: 1, Severity: SeverityWarning, Message: fmt.Sprintf(format, args...)})
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		switch {
		case !e.IsDir() && n != RepoFile && strings.EqualFold(n, RepoFile):
			warn(n, "%s is not read: the repo-level file must be named exactly %s", n, RepoFile)
		case !e.IsDir() && n != RepoFile && strings.EqualFold(path.Ext(n), ".cue"):
			warn(n, "%s is not read: only %s (defaults and policy) and %s/<name>.cue (one site each) are; move its content there", n, RepoFile, SitesDir)
		case e.IsDir() && n != SitesDir && looksLikeSites(n) && holdsCUE(r.fsys, n):
			warn(n, "%s/ is not read: site files belong in %s/<name>.cue", n, SitesDir)
		}
	}
	return ds
}

// straySiteEntry warns about an entry of sites/ that is skipped although it looks like a
// site file: a name ending in .CUE or .Cue, or in .json or .yaml, which the loader does not
// read. Hidden files and the entries Load already reports are left alone.
func straySiteEntry(file string, e fs.DirEntry) (Diagnostic, bool) {
	n := e.Name()
	ext := strings.ToLower(path.Ext(n))
	if e.IsDir() || strings.HasPrefix(n, ".") || path.Ext(n) == ".cue" {
		return Diagnostic{}, false
	}
	switch ext {
	case ".cue", ".json", ".yaml", ".yml":
		return Diagnostic{File: file, Line: 1, Col: 1, Severity: SeverityWarning,
			Message: fmt.Sprintf("%s is not read: site files are CUE files ending in .cue (lower case)", file)}, true
	}
	return Diagnostic{}, false
}

// looksLikeSites reports whether a directory name is probably a misspelt "sites".
func looksLikeSites(n string) bool {
	return editDistance(strings.ToLower(n), SitesDir) <= 2 && len(n) >= 4
}

// holdsCUE reports whether directory dir has a .cue file directly in it.
func holdsCUE(fsys fs.FS, dir string) bool {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(path.Ext(e.Name()), ".cue") {
			return true
		}
	}
	return false
}
