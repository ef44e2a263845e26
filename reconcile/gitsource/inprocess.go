package gitsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// DemoRepo is a git work tree made and committed with go-git, so that `edgectl demo` needs
// no git binary: the demo's config repo.
type DemoRepo struct {
	// Dir is the work tree.
	Dir  string
	repo *git.Repository
}

// demoAuthor signs the demo's commits.
var demoAuthor = object.Signature{Name: "edge demo", Email: "demo@edge.invalid"}

// InitDemoRepo makes a git repository in dir (which holds the files to commit) on branch
// main.
func InitDemoRepo(dir string) (*DemoRepo, error) {
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return nil, fmt.Errorf("demo repo %s: %w", dir, err)
	}
	return &DemoRepo{Dir: dir, repo: r}, nil
}

// CommitAll stages every file of the work tree and commits it as "edge demo"; it returns the
// commit (full hex hash).
func (d *DemoRepo) CommitAll(msg string) (string, error) {
	wt, err := d.repo.Worktree()
	if err != nil {
		return "", fmt.Errorf("demo repo %s: %w", d.Dir, err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("demo repo %s: add: %w", d.Dir, err)
	}
	sig := demoAuthor
	sig.When = time.Now()
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &sig, Committer: &sig})
	if err != nil {
		return "", fmt.Errorf("demo repo %s: commit: %w", d.Dir, err)
	}
	return h.String(), nil
}

// The demo serves its repo to the agent in-process, so that only Go is needed: go-git's
// own file:// transport runs the git-upload-pack binary. demoGit routes file:// endpoints
// of repos registered by ServeInProcess to go-git's in-process server and every other
// endpoint to the transport it replaced.
var demoGit struct {
	once  sync.Once
	mu    sync.Mutex
	paths map[string]bool
}

// ServeInProcess makes every Source of this process fetch dir (a work tree, e.g. a
// DemoRepo's) in-process, without the git binary, when its URL is the local path dir. It
// returns a function that undoes the registration. Pushing to dir is refused.
func ServeInProcess(dir string) (stop func()) {
	demoGit.once.Do(func() {
		demoGit.paths = map[string]bool{}
		prev := client.Protocols["file"]
		client.InstallProtocol("file", &demoTransport{prev: prev, srv: server.NewClient(demoLoader{})})
	})
	dir = filepath.Clean(dir)
	demoGit.mu.Lock()
	demoGit.paths[dir] = true
	demoGit.mu.Unlock()
	return func() {
		demoGit.mu.Lock()
		delete(demoGit.paths, dir)
		demoGit.mu.Unlock()
	}
}

func demoOwns(path string) bool {
	demoGit.mu.Lock()
	defer demoGit.mu.Unlock()
	return demoGit.paths[filepath.Clean(path)]
}

// demoTransport is go-git's file:// transport with the demo repos served in-process.
type demoTransport struct {
	prev transport.Transport // nil if go-git had none
	srv  transport.Transport
}

func (t *demoTransport) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	if demoOwns(ep.Path) {
		s, err := t.srv.NewUploadPackSession(ep, auth)
		if err != nil {
			return nil, err
		}
		return fullPackSession{s}, nil
	}
	if t.prev == nil {
		return nil, errors.New("file transport unavailable")
	}
	return t.prev.NewUploadPackSession(ep, auth)
}

func (t *demoTransport) NewReceivePackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.ReceivePackSession, error) {
	if t.prev == nil || demoOwns(ep.Path) {
		return nil, errors.New("push to the demo repo is not supported: commit to it directly")
	}
	return t.prev.NewReceivePackSession(ep, auth)
}

// fullPackSession answers shallow and thin fetches with a full pack: go-git's server
// supports neither, and the demo repo is tiny.
type fullPackSession struct{ transport.UploadPackSession }

func (s fullPackSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	r := *req
	r.Depth = packp.DepthCommits(0)
	r.Shallows = nil
	caps := capability.NewList()
	for _, c := range req.Capabilities.All() {
		if c == capability.Shallow || c == capability.ThinPack {
			continue
		}
		if err := caps.Set(c, req.Capabilities.Get(c)...); err != nil {
			return nil, err
		}
	}
	r.Capabilities = caps
	return s.UploadPackSession.UploadPack(ctx, &r)
}

// demoLoader opens a work tree's .git directory (or a bare repository) by path.
type demoLoader struct{}

func (demoLoader) Load(ep *transport.Endpoint) (storer.Storer, error) {
	dir := ep.Path
	if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
		dir = filepath.Join(dir, ".git")
	}
	if _, err := os.Stat(filepath.Join(dir, "config")); err != nil {
		return nil, transport.ErrRepositoryNotFound
	}
	return filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault()), nil
}
