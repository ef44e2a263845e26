package reconcile

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/schema"
)

// ContentSource gives the files of a content repository pinned by commit, for static
// routes with a git source (gitsource.ContentStore is the real one).
type ContentSource interface {
	// Tree returns the files of directory path (empty for the root) of commit of the
	// repository at url.
	Tree(ctx context.Context, url, commit, path string) (fs.FS, error)
}

// contentTimeout bounds fetching the content repositories of one site.
const contentTimeout = 3 * time.Minute

// attachContent gives each static route of site with a content repository the files of its
// pinned commit (site's routes are copied first: they are the declaration's, shared). An
// error is the site's: it keeps its previous version, or stays absent.
func (a *Agent) attachContent(s *schema.Site, site *edge.Site) error {
	copied := false
	for i := range site.Routes {
		st := site.Routes[i].Static
		if st == nil || st.Repo == nil || st.FS != nil {
			continue
		}
		if a.opts.Content == nil {
			return fmt.Errorf("site %s (%s): route %s: content repository %s: the agent fetches no content repositories", s.Name, s.File, site.Routes[i].Path, st.Repo.URL)
		}
		ctx, cancel := context.WithTimeout(context.Background(), contentTimeout)
		fsys, err := a.opts.Content.Tree(ctx, st.Repo.URL, st.Repo.Commit, st.Repo.Path)
		cancel()
		if err != nil {
			return fmt.Errorf("site %s (%s): route %s: %w", s.Name, s.File, site.Routes[i].Path, err)
		}
		if !copied {
			site.Routes, copied = slices.Clone(site.Routes), true
		}
		withFS := *st
		withFS.FS = fsys
		site.Routes[i].Static = &withFS
	}
	return nil
}
