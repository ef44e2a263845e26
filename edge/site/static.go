package site

import (
	"io/fs"
	"slices"
)

// Static makes a route serve files instead of proxying. Exactly one source is set: FS (a
// directory of the config repo, or of a pinned content repository once fetched) or Dir (a
// directory on the edge server).
type Static struct {
	// FS holds the files served: a directory of the config repo's revision (RepoDir), or
	// the pinned commit of Repo once the agent fetched it. It is immutable (a revision's
	// tree) and never follows symbolic links. Nil for Dir, and for Repo until fetched.
	FS fs.FS
	// RepoDir is the directory of the config repo FS was taken from ("www/acme"), for
	// messages and plans; empty when the files come from elsewhere.
	RepoDir string
	// Dir is an absolute directory on the edge server, served live (files deployed by
	// other means): confined to it (no "..", no symbolic link leading out of it). Empty
	// when FS or Repo is the source.
	Dir string
	// Repo is a content repository pinned by commit; the agent fetches it and sets FS.
	// Nil when the files come from elsewhere.
	Repo *ContentRepo
	// ContentDigest changes whenever the files served from FS do (a hex digest over the
	// directory's names and content hashes), so that a commit changing only content is a
	// change of the site. Empty for Dir.
	ContentDigest string
	// Index lists the file names tried, in order, for a request naming a directory.
	// Nil means DefaultIndex; an empty non-nil list means none.
	Index []string
	// SPA serves /index.html (of the route's root) with status 200 for any GET or HEAD
	// of a path that names no file, as single-page applications that route in the
	// browser need. The zero value (false) answers 404.
	SPA bool
	// Browse lists a directory that has no index file. The zero value (false) answers 404.
	Browse bool
	// NoPrecompressed turns off serving precompressed siblings ("x.js.br", "x.js.zst",
	// "x.js.gz" for "x.js") to clients that accept their encoding. The zero value serves
	// them.
	NoPrecompressed bool
}

// ContentRepo is a git repository of content pinned at one commit: moving the pin (a
// commit of the config repo) is a deploy.
type ContentRepo struct {
	// URL of the repository, as the config repo's source takes it (https, ssh, file).
	URL string
	// Commit is the full hex hash of the commit served.
	Commit string
	// Path is the directory of the repository served; empty means its root.
	Path string
}

// DefaultIndex is the index file tried when Static.Index is nil.
var DefaultIndex = []string{"index.html"}

// WithDefaults returns s with its zero values replaced by their defaults (Index); s is
// unchanged.
func (s Static) WithDefaults() Static {
	if s.Index == nil {
		s.Index = slices.Clone(DefaultIndex)
	}
	return s
}

// Source describes where the files come from, for messages and plans: "repo www/acme
// (content 1a2b3c4d5e6f)", "dir /var/www/acme" or "git URL@commit:path".
func (s *Static) Source() string {
	switch {
	case s.Repo != nil:
		out := s.Repo.URL + "@" + s.Repo.Commit
		if s.Repo.Path != "" {
			out += ":" + s.Repo.Path
		}
		return "git " + out
	case s.Dir != "":
		return "dir " + s.Dir
	default:
		d := s.ContentDigest
		if len(d) > 12 {
			d = d[:12]
		}
		return "repo " + s.RepoDir + " (content " + d + ")"
	}
}
