package schema

import (
	"fmt"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// routeTarget describes where a route sends requests: its upstreams, or the files it
// serves.
func routeTarget(r site.Route) string {
	if r.Static != nil {
		return staticString(r.Static)
	}
	return strings.Join(urlStrings(r.Upstreams), ", ")
}

// staticString describes a static route's files and options.
func staticString(s *site.Static) string {
	out := s.Source()
	var opts []string
	if s.SPA {
		opts = append(opts, "spa")
	}
	if s.Browse {
		opts = append(opts, "browse")
	}
	if s.NoPrecompressed {
		opts = append(opts, "no precompressed")
	}
	if len(s.Index) != 1 || s.Index[0] != "index.html" {
		opts = append(opts, fmt.Sprintf("index %v", s.Index))
	}
	if len(opts) > 0 {
		out += " {" + strings.Join(opts, ", ") + "}"
	}
	return out
}

// staticChange describes how a route's static part changed: "" when it did not. A moved
// content-repository pin and a change of a repo_dir's content are each a deploy, and say
// so.
func staticChange(b, h *site.Static) string {
	switch {
	case b == nil && h == nil:
		return ""
	case b == nil:
		return "added: " + staticString(h)
	case h == nil:
		return "removed (was " + staticString(b) + ")"
	}
	bs, hs := staticString(b), staticString(h)
	if bs == hs {
		return ""
	}
	if b.Repo != nil && h.Repo != nil && b.Repo.URL == h.Repo.URL && b.Repo.Commit != h.Repo.Commit {
		return fmt.Sprintf("content repository %s moved %s → %s (deploy)", h.Repo.URL, short(b.Repo.Commit), short(h.Repo.Commit))
	}
	if b.RepoDir != "" && b.RepoDir == h.RepoDir && b.ContentDigest != h.ContentDigest {
		return fmt.Sprintf("content of %s changed (deploy)", h.RepoDir)
	}
	return bs + " → " + hs
}

func short(commit string) string { return commit[:min(len(commit), 12)] }
