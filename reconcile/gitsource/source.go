package gitsource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Options configure a Source. URL is required.
type Options struct {
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
	Auth Auth
	// Signatures, when not nil, requires every commit to carry a valid OpenPGP signature
	// by one of its keys; other commits are refused (Poll returns a *SignatureError).
	Signatures *SignaturePolicy
	// Timeout bounds each Poll's network work. Zero means 2 minutes.
	Timeout time.Duration
	// StateDir, when set, is where SaveAccepted keeps the revision the agent serves and
	// RestoreAccepted reads it back after a restart (see StateFileName). Empty means none.
	StateDir string
	// Logger receives a line per fetch. Nil means slog.Default().
	Logger *slog.Logger
	// Early, when set, is told of the blobs it selects while each fetch's pack arrives
	// (see EarlyBlobs).
	Early *EarlyBlobs
	// MaxPackBytes bounds what one fetch may make the agent hold, so that a hostile or
	// broken server or commit cannot exhaust its memory: the pack as received, and what
	// it inflates to (every object's size and every delta's result, as their headers say,
	// checked before memory is allocated for them, and 128 bytes per object). A fetch
	// past it fails with an error wrapping ErrPackTooLarge and the Source keeps its
	// revision. The memory it takes at its peak can be up to about twice this. Zero or
	// less means DefaultMaxPackBytes (1 GiB).
	MaxPackBytes int64
	// MaxRefBytes bounds what one poll may read from the server before the pack, so that
	// a hostile or broken server cannot make the agent allocate without bound with an
	// endless reference advertisement: the advertisement and its capabilities, the
	// shallow and ACK lines before the pack, an error reply. A poll past it fails with an
	// error wrapping ErrReplyTooLarge and the Source keeps its revision. It is enforced as
	// the bytes are read over HTTP(S) (response bodies), git:// (the connection) and SSH
	// (the connection's encrypted stream, with an allowance of half plus 3.1 MiB for the
	// SSH framing, the handshake and the channel window x/crypto/ssh reads ahead; the
	// pack's share grows by as much). Over local
	// paths it is not: only MaxRefs is, once the advertisement is read, and Timeout. Zero
	// or less means DefaultMaxRefBytes (16 MiB).
	MaxRefBytes int64
	// MaxRefs bounds the references the server may advertise; past it a poll fails with
	// an error wrapping ErrReplyTooLarge. Over HTTP(S) and git:// they are counted as they
	// are read; over SSH (within MaxRefBytes) and local paths once the advertisement is
	// decoded. Zero or less means DefaultMaxRefs (100,000).
	MaxRefs int
}

// ErrRefNotFound is returned (wrapped) when the remote has no reference named by
// Options.Ref (or no HEAD).
var ErrRefNotFound = errors.New("reconcile: git reference not found on the remote")

// Source follows one reference of a remote git repository and yields its revisions.
// It keeps a shallow copy of the repository in memory (depth 1 over every transport that
// supports it, with objects of older revisions dropped after each fetch, so memory holds
// about one revision of the repo). An unchanged remote costs one request per Poll: the
// reference advertisement (one GET of info/refs over HTTP). A moved reference costs one
// more, the fetch over the same session, which asks for a thin pack against the revision
// held, so a one-file change transfers about that file. Whatever commit the reference now
// names is fetched, so a force-push is followed: the remote is the truth.
//
// A Source is safe for concurrent use; Polls run one at a time.
type Source struct {
	opts   Options
	dir    string // opts.Subdir cleaned: "." for the root
	name   string // see String
	auth   transport.AuthMethod
	ep     *transport.Endpoint
	client transport.Transport
	wire   *wireLimit // bounds what client reads; nil where it cannot (see newTransport)
	log    *slog.Logger

	mu       sync.Mutex
	store    *objectStore
	last     *Revision     // last revision Poll returned
	lastHash plumbing.Hash // remote reference's hash last time (a tag object for annotated tags)
	refName  plumbing.ReferenceName
	live     map[plumbing.Hash]struct{} // the set reachable fills, kept to be filled again (compact)

	refusedHash plumbing.Hash // a commit fetched and found at fault, and why
	refusedErr  error

	noThinUntil time.Time // a thin pack failed where a full one worked: ask for full packs until then

	saved string // the commit in the state file, once written or read

	saveMu sync.Mutex // held by SaveAccepted while it writes, before mu
	held   stateFile  // what the state file holds (state_append.go); guarded by saveMu
}

// New checks opts and returns a Source. It does not contact the remote: the
// first Poll clones.
func New(opts Options) (*Source, error) {
	if opts.URL == "" {
		return nil, errors.New("reconcile: git source: URL is required")
	}
	dir, err := cleanSubdir(opts.Subdir)
	if err != nil {
		return nil, fmt.Errorf("reconcile: git source: %w", err)
	}
	if err := validRef(opts.Ref); err != nil {
		return nil, fmt.Errorf("reconcile: git source: invalid ref %q: %w", opts.Ref, err)
	}
	ep, err := transport.NewEndpoint(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("reconcile: git url %s: %w", redactURL(opts.URL), err)
	}
	auth, err := opts.Auth.method(ep, opts.URL)
	if err != nil {
		return nil, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.MaxPackBytes <= 0 {
		opts.MaxPackBytes = DefaultMaxPackBytes
	}
	if opts.MaxRefBytes <= 0 {
		opts.MaxRefBytes = DefaultMaxRefBytes
	}
	if opts.MaxRefs <= 0 {
		opts.MaxRefs = DefaultMaxRefs
	}
	cl, wire, err := newTransport(ep, opts.MaxRefBytes, opts.MaxRefs)
	if err != nil {
		return nil, fmt.Errorf("reconcile: git source %s: %w", redactURL(opts.URL), err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	name := redactURL(opts.URL) + "#" + cmp.Or(opts.Ref, "HEAD")
	if dir != "." {
		name += ":" + dir
	}
	return &Source{opts: opts, dir: dir, name: name, auth: auth, ep: ep, client: cl, wire: wire,
		store: newObjectStore(), log: log.With("source", redactURL(opts.URL))}, nil
}

// validRef checks a Options.Ref with go-git's reference name rules: empty or
// "HEAD", a full name ("refs/..."), or a short branch or tag name.
func validRef(ref string) error {
	switch {
	case ref == "" || ref == "HEAD":
		return nil
	case strings.HasPrefix(ref, "refs/"):
		return plumbing.ReferenceName(ref).Validate()
	}
	return plumbing.NewBranchReferenceName(ref).Validate()
}

// String describes the source (without credentials), e.g. "https://host/repo.git#main".
func (s *Source) String() string { return s.name }

// Ref returns the full name of the remote reference followed (e.g. "refs/heads/main"),
// known after the first successful Poll; before it, the configured Ref.
func (s *Source) Ref() string {
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
func (s *Source) Poll(ctx context.Context) (*Revision, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if s.wire != nil {
		s.wire.start()
	}

	sess, err := s.client.NewUploadPackSession(s.ep, s.auth)
	if err != nil {
		return nil, false, fmt.Errorf("reconcile: git source %s: %w", s, err)
	}
	defer sess.Close()
	adv, err := s.advertised(ctx, sess)
	if err != nil {
		return nil, false, fmt.Errorf("reconcile: git source %s: list references: %w", s, err)
	}
	name, hash, err := s.pickRef(adv)
	if err != nil {
		return nil, false, fmt.Errorf("reconcile: git source %s: %w", s, err)
	}
	if s.last != nil && hash == s.lastHash && name == s.refName {
		return s.last, false, nil
	}
	if hash == s.refusedHash {
		return nil, false, s.refusedErr // refused before, and it cannot have changed
	}

	// The store holds exactly the last revision: anything else is fetched.
	if s.last == nil || hash != s.lastHash || s.store.HasEncodedObject(hash) != nil {
		start := time.Now()
		if err := s.fetch(ctx, sess, adv, hash); err != nil {
			s.restore()
			return nil, false, fmt.Errorf("reconcile: git source %s: fetch %s: %w", s, name, clipErr(err))
		}
		s.log.Debug("git fetch", "ref", name, "hash", hash, "took", time.Since(start))
	}
	rev, commit, err := s.revision(ctx, hash)
	if err != nil {
		s.restore()
		if ctx.Err() != nil || errors.Is(err, plumbing.ErrObjectNotFound) || commit == plumbing.ZeroHash {
			return nil, false, fmt.Errorf("reconcile: git source %s: %w", s, err)
		}
		// The commit itself is at fault (refused signature, missing subdirectory...).
		err = &CommitError{Commit: commit.String(), Err: fmt.Errorf("reconcile: git source %s: %w", s, err)}
		var se *SignatureError
		if !errors.As(err, &se) || se.Reason != SignatureExpired {
			// Say so again on the next polls without fetching it again. (Not for an
			// expired, or not yet valid, signature: that verdict depends on the clock.)
			s.refusedHash, s.refusedErr = hash, err
		}
		return nil, false, err
	}
	s.refusedHash, s.refusedErr = plumbing.ZeroHash, nil
	changed := s.last == nil || s.last.Commit != rev.Commit
	s.last, s.lastHash, s.refName = rev, hash, name
	return rev, changed, nil
}

// revision checks the fetched commit (or tag) hash against the signature policy, reads its
// files and compacts the store to it. It also returns the commit's hash once known, for
// errors about it.
func (s *Source) revision(ctx context.Context, hash plumbing.Hash) (*Revision, plumbing.Hash, error) {
	c, tags, err := peelToCommit(s.store, hash)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	var signer string
	if s.opts.Signatures != nil {
		if signer, err = s.opts.Signatures.verify(c); err != nil {
			return nil, c.Hash, err
		}
	}
	var prev *TreeFS
	if s.last != nil {
		prev, _ = s.last.FS.(*TreeFS)
	}
	rev, err := readCommit(ctx, s.store, c, s.dir, prev)
	if err != nil {
		return nil, c.Hash, err
	}
	rev.Signer = signer
	tfs, _ := rev.FS.(*TreeFS)
	if err := s.compact(tags, c, tfs); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if s.opts.StateDir == "" {
		s.store.takeFresh() // no saves to plan: do not keep the list of additions
	}
	return rev, c.Hash, nil
}

// CommitError is returned by Source.Poll when the repo was reached and the commit the
// reference names is at fault: refused by the signature policy (Err wraps a
// *SignatureError), or without the configured subdirectory (Err wraps
// ErrRevisionNotFound). Nothing is wrong with the connection: the caller should treat it as
// a rejected revision and poll again at its usual pace.
type CommitError struct {
	// Commit is the full hex hash of the commit at fault.
	Commit string
	Err    error
}

func (e *CommitError) Error() string { return e.Err.Error() }
func (e *CommitError) Unwrap() error { return e.Err }

// restore drops what a failed Poll left in the store (a pack cut off half-way, a refused
// commit), so the store holds exactly the last revision again, or nothing.
func (s *Source) restore() {
	if s.last != nil {
		tfs, _ := s.last.FS.(*TreeFS)
		if c, tags, err := peelToCommit(s.store, s.lastHash); err == nil && s.compact(tags, c, tfs) == nil {
			return
		}
	}
	s.store = newObjectStore()
}

// pickRef finds the followed reference among the advertised ones.
func (s *Source) pickRef(adv *packp.AdvRefs) (plumbing.ReferenceName, plumbing.Hash, error) {
	byName, err := adv.AllReferences()
	if err != nil {
		return "", plumbing.ZeroHash, fmt.Errorf("reference advertisement: %w", err)
	}
	var candidates []plumbing.ReferenceName
	switch want := s.opts.Ref; {
	case want == "" || want == "HEAD":
		head, ok := byName[plumbing.HEAD]
		if !ok {
			if len(byName) == 0 {
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

// fetch asks the server for the commit (or tag) want at depth 1 over the session that
// advertised it (one more request over HTTP), and stores the objects it sends.
//
// When the store holds the previous revision, that commit is sent as "have" and a thin pack
// is asked for: the server then sends only the changed objects, as deltas against objects
// the store already has. go-git hides thin-pack from the advertised capabilities (its
// on-disk store cannot resolve such deltas; the in-memory store used here can, through the
// packfile parser), so it is asked for blindly, and two failures are handled by a second
// request on a new session:
//   - a server that refuses the capability (go-git's own server does; git ignores what it
//     does not know) is asked again without it, and not asked for thin packs for an hour;
//   - a pack whose deltas name a base the store lacks is fetched again in full.
func (s *Source) fetch(ctx context.Context, sess transport.UploadPackSession, adv *packp.AdvRefs, want plumbing.Hash) error {
	var have plumbing.Hash
	if s.last != nil {
		if h := plumbing.NewHash(s.last.Commit); s.store.HasEncodedObject(h) == nil {
			have = h
		}
	}
	thin := have != plumbing.ZeroHash && !time.Now().Before(s.noThinUntil)
	err := s.fetchPack(ctx, sess, adv, want, have, thin)
	switch {
	case err == nil || ctx.Err() != nil || errors.Is(err, ErrPackTooLarge) || errors.Is(err, ErrReplyTooLarge):
		// (A full pack would be larger still.)
	case thin && (errors.Is(err, plumbing.ErrObjectNotFound) || errors.Is(err, packfile.ErrReferenceDeltaNotFound)):
		s.log.Warn("git fetch: thin pack missed a base object; fetching in full", "err", clipErr(err))
		s.store = newObjectStore()
		err = s.fetchAgain(ctx, want, plumbing.ZeroHash)
	case thin:
		thinErr := err
		if err = s.fetchAgain(ctx, want, have); err == nil {
			// Most likely the server refuses the capability: do not ask it every time.
			s.noThinUntil = time.Now().Add(time.Hour)
			s.log.Info("git fetch: a thin pack failed where a full one worked; asking for full packs for an hour", "err", clipErr(thinErr))
		}
	}
	if err != nil {
		return err
	}
	if _, err := s.store.EncodedObject(plumbing.AnyObject, want); err != nil {
		return fmt.Errorf("the server did not send %s: %w", want, err)
	}
	return nil
}

// fetchAgain fetches want without a thin pack over a new session.
func (s *Source) fetchAgain(ctx context.Context, want, have plumbing.Hash) error {
	sess, err := s.client.NewUploadPackSession(s.ep, s.auth)
	if err != nil {
		return err
	}
	defer sess.Close()
	adv, err := s.advertised(ctx, sess)
	if err != nil {
		return err
	}
	return s.fetchPack(ctx, sess, adv, want, have, false)
}

// fetchPack sends one upload-pack request and stores the pack received.
func (s *Source) fetchPack(ctx context.Context, sess transport.UploadPackSession, adv *packp.AdvRefs, want, have plumbing.Hash, thin bool) (err error) {
	req := packp.NewUploadPackRequestFromCapabilities(adv.Capabilities)
	req.Wants = []plumbing.Hash{want}
	if adv.Capabilities.Supports(capability.Shallow) {
		req.Depth = packp.DepthCommits(1)
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return err
		}
		if req.Shallows, err = s.store.Shallow(); err != nil {
			return err
		}
	}
	if adv.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return err
		}
	}
	if have != plumbing.ZeroHash {
		req.Haves = []plumbing.Hash{have}
	}
	if thin {
		if err := req.Capabilities.Set(capability.ThinPack); err != nil {
			return err
		}
	}
	defer func() { err = s.wireErr(err) }()
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return err
	}
	if s.wire != nil {
		s.wire.allowPack(packWireBytes(s.opts.MaxPackBytes))
	}
	defer func() {
		if cerr := resp.Close(); err == nil {
			err = cerr
		}
	}()
	var pack io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = sideband.NewDemuxer(sideband.Sideband64k, resp)
	case req.Capabilities.Supports(capability.Sideband):
		pack = sideband.NewDemuxer(sideband.Sideband, resp)
	}
	if s.opts.Early != nil {
		sp := startEarly(s.opts.Early, s.opts.MaxPackBytes, s.log)
		defer sp.close()
		pack = io.TeeReader(pack, sp)
	}
	return storePack(s.store, pack, s.opts.MaxPackBytes)
}

// advertised reads the session's reference advertisement, within Options.MaxRefBytes
// (over HTTP(S), git:// and SSH) and Options.MaxRefs. Its errors are clipped (clipErr):
// they may quote what the server sent.
func (s *Source) advertised(ctx context.Context, sess transport.UploadPackSession) (*packp.AdvRefs, error) {
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, clipErr(s.wireErr(err))
	}
	if n := len(adv.References) + len(adv.Peeled); n > s.opts.MaxRefs {
		return nil, refsErr(s.opts.MaxRefs)
	}
	return adv, nil
}

// wireErr returns the error of the limit the poll passed (Options.MaxRefBytes, MaxRefs,
// the pack's share), if it did, rather than err: go-git's decoders do not wrap what their
// reader returns.
func (s *Source) wireErr(err error) error {
	if err == nil || s.wire == nil {
		return err
	}
	if werr := s.wire.tripped(); werr != nil {
		return werr
	}
	return err
}
