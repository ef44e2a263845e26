package gitsource

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// ContentOptions configure a ContentStore. The zero value is ready to use.
type ContentOptions struct {
	// Auth holds the credentials for every content repository (the config repo's, as a
	// rule: content lives on the same git server). The zero value means none.
	Auth Auth
	// Timeout bounds each fetch. Zero means 2 minutes.
	Timeout time.Duration
	// Keep is how many fetched trees are kept for reuse (the ones served, and the last
	// ones before). Zero means 16.
	Keep int
	// Logger receives a line per fetch. Nil means slog.Default().
	Logger *slog.Logger
}

// ContentStore fetches content repositories pinned by commit (a static route's git
// source) and keeps their trees: a commit's tree never changes, so each pin is fetched once,
// at depth 1, into memory. It is safe for concurrent use; fetches run one at a time.
//
// The commit is asked for by hash: the server must allow it when the commit is no
// branch's or tag's tip (git: uploadpack.allowReachableSHA1InWant, which GitHub and GitLab
// allow).
type ContentStore struct {
	opts ContentOptions
	log  *slog.Logger

	mu    sync.Mutex
	trees map[string]*contentTree // by url "@" commit ":" path
	tick  uint64
}

// contentTree is a fetched tree and when it was last asked for (a counter).
type contentTree struct {
	fsys fs.FS
	used uint64
}

// NewContentStore returns a ContentStore with opts.
func NewContentStore(opts ContentOptions) *ContentStore {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Keep <= 0 {
		opts.Keep = 16
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &ContentStore{opts: opts, log: log, trees: map[string]*contentTree{}}
}

var fullHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Tree returns the files of directory path (empty for the root) of commit in the
// repository at url, fetching them unless held. The result is a *TreeFS: immutable, links
// never followed, files over MaxRevisionFileSize listed but not readable.
func (c *ContentStore) Tree(ctx context.Context, url, commit, path string) (fs.FS, error) {
	if !fullHash.MatchString(commit) {
		return nil, fmt.Errorf("reconcile: content repository %s: commit %q is not a full hash", redactURL(url), commit)
	}
	key := url + "@" + commit + ":" + path
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	if t := c.trees[key]; t != nil {
		t.used = c.tick
		return t.fsys, nil
	}
	fsys, err := c.fetch(ctx, url, plumbing.NewHash(commit), path)
	if err != nil {
		return nil, err
	}
	c.trees[key] = &contentTree{fsys: fsys, used: c.tick}
	c.evict()
	return fsys, nil
}

// fetch reads commit of url at depth 1 and returns the tree of path.
func (c *ContentStore) fetch(ctx context.Context, url string, commit plumbing.Hash, path string) (fs.FS, error) {
	src, err := New(Options{URL: url, Subdir: path, Auth: c.opts.Auth, Timeout: c.opts.Timeout, Logger: c.log})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	start := time.Now()
	if src.wire != nil {
		src.wire.start()
	}
	sess, err := src.client.NewUploadPackSession(src.ep, src.auth)
	if err != nil {
		return nil, fmt.Errorf("reconcile: content repository %s: %w", src, err)
	}
	defer sess.Close()
	adv, err := src.advertised(ctx, sess)
	if err != nil {
		return nil, fmt.Errorf("reconcile: content repository %s: list references: %w", src, err)
	}
	if err := src.fetchPack(ctx, sess, adv, commit, plumbing.ZeroHash, false); err != nil {
		return nil, fmt.Errorf("reconcile: content repository %s: fetch commit %s (the server must allow fetching a commit by hash): %w", src, commit, clipErr(err))
	}
	cm, _, err := peelToCommit(src.store, commit)
	if err != nil {
		return nil, fmt.Errorf("reconcile: content repository %s: commit %s: %w", src, commit, err)
	}
	rev, err := readCommit(ctx, src.store, cm, src.dir, nil)
	if err != nil {
		return nil, fmt.Errorf("reconcile: content repository %s: %w", src, err)
	}
	c.log.Info("content repository fetched", "repo", redactURL(url), "commit", commit, "path", path, "took", time.Since(start))
	return rev.FS, nil
}

// evict drops the trees asked for longest ago beyond Keep.
func (c *ContentStore) evict() {
	for len(c.trees) > c.opts.Keep {
		oldest, at := "", ^uint64(0)
		for k, t := range c.trees {
			if t.used < at {
				oldest, at = k, t.used
			}
		}
		delete(c.trees, oldest)
	}
}
