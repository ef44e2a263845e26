package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// GitSourceOptions configure a GitSource. URL is required.
type GitSourceOptions struct {
	// URL of the config repo: "https://host/org/repo.git", "ssh://git@host/org/repo.git",
	// "git@host:org/repo.git", "git://host/repo", "file:///path" or a local path.
	URL string
	// Ref to follow: a branch ("main"), a tag ("v1.2"), or a full reference name
	// ("refs/heads/main", "refs/tags/v1.2"). A short name is looked up as a branch first,
	// then as a tag. Empty means the remote's HEAD (its default branch).
	Ref string
	// Subdir roots each revision's files at this directory of the repo. Empty means the
	// repo's root.
	Subdir string
	// Auth holds the credentials. The zero value means none.
	Auth GitAuth
	// Signatures, when not nil, requires every commit to carry a valid OpenPGP signature
	// by one of its keys; other commits are refused (Poll returns a *SignatureError).
	Signatures *SignaturePolicy
	// Timeout bounds each Poll's network work. Zero means 2 minutes.
	Timeout time.Duration
	// Logger receives a line per fetch. Nil means slog.Default().
	Logger *slog.Logger
}

// ErrRefNotFound is returned (wrapped) when the remote has no reference named by
// GitSourceOptions.Ref (or no HEAD).
var ErrRefNotFound = errors.New("reconcile: git reference not found on the remote")

// fetchedRef is where a GitSource keeps the fetched commit in its private repository.
const fetchedRef = plumbing.ReferenceName("refs/edge/fetched")

// GitSource follows one reference of a remote git repository and yields its revisions.
// It keeps a shallow copy of the repository in memory (depth 1 over every transport that
// supports it, with objects of older revisions dropped after each fetch, so memory holds
// about one revision of the repo). An unchanged remote costs one request per Poll: the
// reference advertisement (one GET of info/refs over HTTP). A moved reference is fetched
// with a forced refspec, so a force-push is followed: the remote is the truth.
//
// A GitSource is safe for concurrent use; Polls run one at a time.
type GitSource struct {
	opts GitSourceOptions
	auth transport.AuthMethod
	log  *slog.Logger

	mu       sync.Mutex
	store    *memory.Storage
	last     *Revision     // last revision Poll returned
	lastHash plumbing.Hash // remote reference's hash last time (a tag object for annotated tags)
	refName  plumbing.ReferenceName
}

// NewGitSource checks opts and returns a GitSource. It does not contact the remote: the
// first Poll clones.
func NewGitSource(opts GitSourceOptions) (*GitSource, error) {
	if opts.URL == "" {
		return nil, errors.New("reconcile: git source: URL is required")
	}
	if _, err := cleanSubdir(opts.Subdir); err != nil {
		return nil, fmt.Errorf("reconcile: git source: %w", err)
	}
	if ref := strings.TrimPrefix(opts.Ref, "refs/"); opts.Ref != "" && opts.Ref != "HEAD" && !validShortRef(ref) {
		return nil, fmt.Errorf("reconcile: git source: invalid ref %q", opts.Ref)
	}
	auth, err := opts.Auth.method(opts.URL)
	if err != nil {
		return nil, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &GitSource{opts: opts, auth: auth, log: log.With("source", redactURL(opts.URL))}, nil
}

// validShortRef reports whether a short branch or tag name is acceptable.
func validShortRef(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\n~^:?*[\\") && !strings.Contains(s, "..") &&
		!strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "/") && !strings.HasSuffix(s, "/")
}

// String describes the source (without credentials), e.g. "https://host/repo.git#main".
func (s *GitSource) String() string {
	ref := s.opts.Ref
	if ref == "" {
		ref = "HEAD"
	}
	str := redactURL(s.opts.URL) + "#" + ref
	if d, _ := cleanSubdir(s.opts.Subdir); d != "." {
		str += ":" + d
	}
	return str
}

// Ref returns the full name of the remote reference followed (e.g. "refs/heads/main"),
// known after the first successful Poll; before it, the configured Ref.
func (s *GitSource) Ref() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refName != "" {
		return s.refName.String()
	}
	return s.opts.Ref
}

// Poll asks the remote for the reference's commit and, when it moved since the last Poll,
// fetches it and reads its files. It returns the current revision and whether it differs
// from the revision the previous successful Poll returned (true on the first). On error
// (server unreachable, reference gone, signature refused...) nothing changes: the next
// Poll tries again, and the caller keeps serving its last revision.
func (s *GitSource) Poll(ctx context.Context) (*Revision, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()

	if s.store == nil {
		s.store = memory.NewStorage()
	}
	remote := git.NewRemote(s.store, &config.RemoteConfig{Name: "origin", URLs: []string{s.opts.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: s.auth, PeelingOption: git.IgnorePeeled})
	if err != nil {
		return nil, false, fmt.Errorf("reconcile: git source %s: list references: %w", s, err)
	}
	name, hash, err := s.pickRef(refs)
	if err != nil {
		return nil, false, fmt.Errorf("reconcile: git source %s: %w", s, err)
	}
	if s.last != nil && hash == s.lastHash && name == s.refName {
		return s.last, false, nil
	}

	if _, err := s.store.EncodedObject(plumbing.AnyObject, hash); err != nil {
		start := time.Now()
		if err := s.fetch(ctx, remote, name); err != nil {
			return nil, false, fmt.Errorf("reconcile: git source %s: fetch %s: %w", s, name, err)
		}
		ref, err := s.store.Reference(fetchedRef)
		if err != nil {
			return nil, false, fmt.Errorf("reconcile: git source %s: fetch %s: %w", s, name, err)
		}
		hash = ref.Hash() // the remote may have moved again between list and fetch
		s.log.Debug("git fetch", "ref", name, "hash", hash, "took", time.Since(start))
	}
	c, err := peelToCommit(s.store, hash)
	if err != nil {
		return nil, false, fmt.Errorf("reconcile: git source %s: %s: %w", s, name, err)
	}
	var signer string
	if s.opts.Signatures != nil {
		if signer, err = s.opts.Signatures.verify(c); err != nil {
			return nil, false, fmt.Errorf("reconcile: git source %s: %w", s, err)
		}
	}
	rev, err := readCommit(ctx, s.store, c.Hash, s.opts.Subdir)
	if err != nil {
		return nil, false, fmt.Errorf("reconcile: git source %s: %w", s, err)
	}
	rev.Signer = signer
	if err := s.compact(hash); err != nil {
		return nil, false, fmt.Errorf("reconcile: git source %s: %w", s, err)
	}
	changed := s.last == nil || s.last.Commit != rev.Commit
	s.last, s.lastHash, s.refName = rev, hash, name
	return rev, changed, nil
}

// pickRef finds the followed reference among the advertised ones.
func (s *GitSource) pickRef(refs []*plumbing.Reference) (plumbing.ReferenceName, plumbing.Hash, error) {
	byName := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, r := range refs {
		byName[r.Name()] = r
	}
	var candidates []plumbing.ReferenceName
	switch want := s.opts.Ref; {
	case want == "" || want == "HEAD":
		head, ok := byName[plumbing.HEAD]
		if !ok {
			if len(refs) == 0 {
				return "", plumbing.ZeroHash, fmt.Errorf("%w: the repository is empty", ErrRefNotFound)
			}
			return "", plumbing.ZeroHash, fmt.Errorf("%w: HEAD (set a branch)", ErrRefNotFound)
		}
		if head.Type() == plumbing.SymbolicReference {
			candidates = []plumbing.ReferenceName{head.Target()}
		} else {
			return plumbing.HEAD, head.Hash(), nil
		}
	case strings.HasPrefix(want, "refs/"):
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(want)}
	default:
		candidates = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(want), plumbing.NewTagReferenceName(want)}
	}
	for _, n := range candidates {
		if r, ok := byName[n]; ok && r.Type() == plumbing.HashReference {
			return n, r.Hash(), nil
		}
	}
	ref := s.opts.Ref
	if ref == "" {
		ref = "HEAD"
	}
	return "", plumbing.ZeroHash, fmt.Errorf("%w: %s", ErrRefNotFound, ref)
}

// fetch fetches name (depth 1, forced) into fetchedRef.
func (s *GitSource) fetch(ctx context.Context, remote *git.Remote, name plumbing.ReferenceName) error {
	spec := config.RefSpec("+" + name.String() + ":" + fetchedRef.String())
	err := remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []config.RefSpec{spec},
		Depth:    1,
		Auth:     s.auth,
		Tags:     git.NoTags,
		Force:    true,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}
