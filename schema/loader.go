package schema

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Default expiry windows when neither the repo's policy nor LoaderOptions set them.
const (
	DefaultCertWarnWithin  = 30 * 24 * time.Hour
	DefaultCertErrorWithin = 0 // only an expired certificate is an error
)

// RepoFile is the optional repo-level file of fleet-wide defaults and policy.
const RepoFile = "edge.cue"

// SitesDir is the directory holding one sites/<name>.cue file per site.
const SitesDir = "sites"

// LoaderOptions configure a Loader. The zero value is ready to use.
type LoaderOptions struct {
	// Now returns the time certificates are judged at. Nil means time.Now.
	Now func() time.Time
	// CertWarnWithin overrides the repo's policy.cert_warn_within. Zero keeps the repo's
	// (default 30 days); negative turns the warning off.
	CertWarnWithin time.Duration
	// CertErrorWithin overrides the repo's policy.cert_error_within. Zero keeps the repo's
	// (default: only expired certificates are errors); negative means only expired.
	CertErrorWithin time.Duration
	// LenientExpiry reports expired and expiring certificates as warnings, never errors. An
	// agent may set it so one site's expired certificate does not hold back every other
	// site's changes (the data plane serves what it is given; clients will refuse it).
	LenientExpiry bool
	// MaxFileSize limits each file read. Zero means DefaultMaxFileSize (1 MiB).
	MaxFileSize int64
	// Workers bounds the files evaluated in parallel. Zero means GOMAXPROCS.
	Workers int
	// ReloadWorkers, when positive, bounds the files evaluated in parallel by the loads
	// after the first one that succeeded, instead of Workers: a process that loads while
	// it serves can leave cores to serving (the agent leaves one). Zero means Workers.
	ReloadWorkers int
	// Isolation evaluates in child processes with memory and time limits. The zero value
	// evaluates in this process.
	Isolation Isolation
	// CacheDir, when set, keeps successful site evaluations in CacheDir/evalcache (created
	// 0700) so that a new process loading the same files skips their CUE evaluation. Each
	// result is keyed by the site file, edge.cue, the embedded schema, the program's build
	// and the limits above; a damaged entry is evaluated again.
	CacheDir string
	// DeferCacheWrite leaves the write of the evaluation cache file (CacheDir) after a load
	// to WriteEvalCache (or the next load), so a caller can serve the load's result first.
	DeferCacheWrite bool
}

// Loader loads config repos, remembering each file's result by content hash so that
// loading a repo again costs work only for the files that changed. It is safe for
// concurrent use (loads are serialised). The CUE evaluation state of a load is dropped when
// the load returns, so memory does not grow from load to load.
type Loader struct {
	opts LoaderOptions

	mu      sync.Mutex             // held by Load
	cmu     sync.Mutex             // guards sites and certs against a load's workers
	sites   map[string]*siteResult // by file path
	certs   map[string]*certResult // by file path
	built   map[string]*builtEntry // by site file path
	pages   *pageCache             // error and maintenance page files (pagefiles.go)
	repo    *repoResult
	disk    *diskCache // nil without CacheDir (evalcache.go)
	urls    urlCache   // upstream URLs parsed by the running assemble (urlcache.go); nil between loads
	diskErr error      // the last load's failure to write disk
	loaded  bool       // a load succeeded: the next ones use ReloadWorkers
	pending []*siteJob // a load's jobs whose cache write DeferCacheWrite left to WriteEvalCache
}

type siteResult struct {
	hash  [32]byte
	decl  *siteDecl
	diags []Diagnostic
}

type certResult struct {
	hash  [32]byte
	pem   []byte
	facts *certFacts
}

type repoResult struct {
	hash  [32]byte
	exist bool
	decl  *repoDecl
	diags []Diagnostic
}

// NewLoader returns a Loader with opts.
func NewLoader(opts LoaderOptions) *Loader {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	l := &Loader{opts: opts, sites: map[string]*siteResult{}, certs: map[string]*certResult{}, built: map[string]*builtEntry{}}
	if opts.CacheDir != "" {
		l.disk = newDiskCache(opts.CacheDir, opts)
	}
	return l
}

// Load validates the config repo in fsys once with default options. A Loader kept across
// loads is faster; see NewLoader.
func Load(fsys fs.FS) (*Config, error) { return NewLoader(LoaderOptions{}).Load(fsys) }

// LoadDir validates the config repo in directory dir.
func LoadDir(dir string) (*Config, error) { return Load(os.DirFS(dir)) }

// Load is LoadContext with a context that is never cancelled.
func (l *Loader) Load(fsys fs.FS) (*Config, error) { return l.LoadContext(context.Background(), fsys) }

// LoadContext validates the config repo in fsys: the optional edge.cue at the root and every
// sites/*.cue file with the certificates they name. On success it returns the Config (with
// warnings in Config.Warnings). When the repo is invalid it returns a nil Config and
// Diagnostics holding every error and warning, sorted by file and position. When ctx is
// done first it stops (with Isolation, killing the evaluations under way) and returns an
// error wrapping ctx's; nothing evaluated for the cancelled load is cached.
//
// Sites whose file, certificate and edge.cue are unchanged since the previous load are the
// very same *Site values (with equal Digest): treat every returned value as read-only.
func (l *Loader) LoadContext(ctx context.Context, fsys fs.FS) (*Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", errLoadCancelled, err)
	}
	l.flushDisk()
	r := &repoReader{fsys: fsys, maxSize: l.opts.MaxFileSize}
	evals := l.newEvalService(ctx)
	defer evals.close()

	repo, ds := l.loadRepo(r, evals)
	ds = append(ds, strayRoot(r)...)
	jobs, jds := l.siteJobs(r)
	ds = append(ds, jds...)
	if l.disk != nil {
		l.disk.load()
	}
	l.evalSites(ctx, r, repo, jobs, evals)
	evals.close() // every callback has run
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", errLoadCancelled, err)
	}
	l.saveDiskOrDefer(jobs)
	cfg, err := l.assemble(r, repo, jobs, ds)
	l.loaded = l.loaded || err == nil
	return cfg, err
}

// workers is how many files the running load evaluates in parallel.
func (l *Loader) workers() int {
	if l.loaded && l.opts.ReloadWorkers > 0 {
		return l.opts.ReloadWorkers
	}
	return l.opts.Workers
}

// siteJob is one site file of a load and, once evaluated, its results.
type siteJob struct {
	name, file string
	res        *siteResult
	cert       *certResult
	pages      *pagesResult // nil: the site names no page file
	ca         *certResult  // client_auth's CA bundle; nil without one
	ds         []Diagnostic
	key        [32]byte // the evaluation cache's key of the file; set when hasKey
	hasKey     bool
}

// siteJobs lists the site files of the repo.
func (l *Loader) siteJobs(r *repoReader) ([]*siteJob, []Diagnostic) {
	var ds []Diagnostic
	ents, err := r.readDir(SitesDir)
	switch {
	case err == errNotExist:
		ds = append(ds, Diagnostic{File: SitesDir, Severity: SeverityError,
			Message: "the repo has no sites/ directory; an edge config repo declares each site in sites/<name>.cue"})
	case err != nil:
		ds = append(ds, fileDiag(err))
	}
	var jobs []*siteJob
	for _, e := range ents {
		n := e.Name()
		file := SitesDir + "/" + n
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".cue") {
			if e.IsDir() && !strings.HasPrefix(n, ".") {
				ds = append(ds, Diagnostic{File: file, Severity: SeverityWarning,
					Message: file + " is a directory; site files must be directly in sites/, so it is ignored"})
			}
			if d, ok := straySiteEntry(file, e); ok {
				ds = append(ds, d)
			}
			continue
		}
		name := strings.TrimSuffix(n, ".cue")
		if !siteName.MatchString(name) {
			ds = append(ds, Diagnostic{File: file, Severity: SeverityError,
				Message: fmt.Sprintf("%q is not a valid site name; name site files with lower-case letters, digits, '.', '-' and '_' (e.g. sites/example-com.cue)", name)})
			continue
		}
		jobs = append(jobs, &siteJob{name: name, file: file})
	}
	return jobs, ds
}

// evalSites evaluates the jobs in parallel, one lane of evals per goroutine, until ctx is
// done. Results may arrive after it returns: close evals before reading them.
func (l *Loader) evalSites(ctx context.Context, r *repoReader, repo *repoResult, jobs []*siteJob, evals evalService) {
	var wg sync.WaitGroup
	next := make(chan *siteJob)
	for w := 0; w < min(l.workers(), max(len(jobs), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				l.loadSite(r, repo, j, w, evals)
			}
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- j
	}
	close(next)
	wg.Wait()
}

// assemble builds the sites of the evaluated jobs and checks across files.
func (l *Loader) assemble(r *repoReader, repo *repoResult, jobs []*siteJob, ds []Diagnostic) (*Config, error) {
	now := l.opts.Now()
	l.urls = urlCache{}
	defer func() { l.urls = nil }()
	warn, errw := l.windows(repo)
	cfg := &Config{Defaults: repo.defaults(warn, errw), Issuers: repo.issuerConfigs()}
	seenSites := make(map[string]bool, len(jobs))
	seenCerts := make(map[string]bool, len(jobs))
	var built []*builtSite
	var decls []*siteDecl
	for _, j := range jobs {
		ds = append(ds, j.ds...)
		seenSites[j.file] = true
		if j.res == nil || j.res.decl == nil || hasError(j.res.diags) {
			continue
		}
		decls = append(decls, j.res.decl)
		if j.cert == nil && j.res.decl.Pass == nil && j.res.decl.Issuer.S == "" {
			continue // the certificate file could not be read: already reported
		}
		if j.cert != nil {
			seenCerts[j.res.decl.Cert.S] = true
		}
		if j.ca != nil {
			seenCerts[caCacheKey(j.res.decl.ClientAuth.CA.S)] = true
		}
		var st staticSet
		if hasStatic(j.res.decl) {
			var sds []Diagnostic
			if st, sds = staticDirs(r, j.res.decl); hasError(sds) {
				ds = append(ds, sds...)
				continue
			}
		}
		b, bds := l.build(j.res, j.cert, j.ca, j.pages, repo, st, now, warn, errw)
		ds = append(ds, bds...)
		if b != nil {
			built = append(built, b)
		}
	}
	ds = append(ds, crossCheck(decls, repo.decl.AllowOverlap)...)
	l.evict(seenSites, seenCerts)
	l.evictPages(seenSites)

	atFileStart(ds)
	sortDiags(ds)
	if hasError(ds) {
		return nil, Diagnostics(ds)
	}
	sort.Slice(built, func(i, j int) bool { return built[i].site.Name < built[j].site.Name })
	for _, b := range built {
		cfg.Sites = append(cfg.Sites, b.site)
	}
	if len(cfg.Sites) == 0 {
		ds = append(ds, Diagnostic{File: SitesDir, Line: 1, Col: 1, Severity: SeverityWarning, Message: "declares no sites; nothing will be served"})
	}
	cfg.Warnings = Diagnostics(ds)
	if len(ds) == 0 {
		cfg.Warnings = nil
	}
	return cfg, nil
}

// siteName is what a site's file name (without .cue) must look like.
var siteName = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$`)

func hasError(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

func fileDiag(err error) Diagnostic {
	if fe, ok := err.(*fileError); ok {
		return fe.diag()
	}
	return Diagnostic{Line: 1, Col: 1, Severity: SeverityError, Message: err.Error()}
}

// loadRepo reads and evaluates edge.cue (or reuses the cached result).
func (l *Loader) loadRepo(r *repoReader, evals evalService) (*repoResult, []Diagnostic) {
	f, err := r.stat(RepoFile)
	var h [32]byte
	if err == nil {
		h, err = f.id()
	}
	if err != nil {
		if errors.Is(err, errNotExist) {
			if l.repo == nil || l.repo.exist {
				l.repo = &repoResult{decl: &repoDecl{}}
			}
			return l.repo, nil
		}
		return &repoResult{decl: &repoDecl{}}, []Diagnostic{fileDiag(err)}
	}
	if l.repo != nil && l.repo.exist && l.repo.hash == h {
		return l.repo, l.repo.diags
	}
	b, err := f.read()
	if err != nil {
		return &repoResult{decl: &repoDecl{}}, []Diagnostic{fileDiag(err)}
	}
	o := evalSync(evals, 0, evalRequest{Kind: repoFile, File: RepoFile, Src: b})
	decl := o.repo
	if decl == nil {
		decl = &repoDecl{}
	}
	res := &repoResult{hash: h, exist: true, decl: decl, diags: o.diags}
	if !o.transient {
		l.repo = res
	}
	return res, o.diags
}

// loadSite reads one site file and has it evaluated on lane (or reuses the cached result
// for unchanged content); finishSite then checks its certificate. It runs on a loader
// goroutine; finishSite may run on another.
func (l *Loader) loadSite(r *repoReader, repo *repoResult, j *siteJob, lane int, evals evalService) {
	f, err := r.stat(j.file)
	if err != nil {
		j.ds = []Diagnostic{fileDiag(err)}
		return
	}
	h, err := f.id()
	if err != nil {
		j.ds = []Diagnostic{fileDiag(err)}
		return
	}
	l.cmu.Lock()
	res := l.sites[j.file]
	l.cmu.Unlock()
	if l.disk != nil {
		j.key, j.hasKey = l.disk.siteCacheKey(repo, j, h), true
	}
	if res != nil && res.hash == h {
		j.res = res
		l.finishSite(r, j)
		return
	}
	if res := l.diskHit(j, h); res != nil {
		j.res = res
		l.finishSite(r, j)
		return
	}
	b, err := f.read()
	if err != nil {
		j.ds = []Diagnostic{fileDiag(err)}
		return
	}
	if h := testHookEvaluating; h != nil {
		h(j.file)
	}
	evals.eval(lane, evalRequest{Kind: siteFile, Name: j.name, File: j.file, Src: b}, func(o evalOutcome) {
		res := &siteResult{hash: h, decl: o.site, diags: o.diags}
		if !o.transient {
			l.cmu.Lock()
			l.sites[j.file] = res
			l.cmu.Unlock()
		}
		j.res = res
		l.finishSite(r, j)
	})
}

// finishSite reads and parses the certificate of an evaluated site (or reuses the cached
// result for unchanged content) and sets j's diagnostics.
func (l *Loader) finishSite(r *repoReader, j *siteJob) {
	res := j.res
	j.ds = res.diags
	if res.decl == nil || hasError(res.diags) || res.decl.Pass != nil || res.decl.Issuer.S != "" {
		return // a passthrough site has no certificate; an issued one is not in the repo
	}
	certFile := res.decl.Cert.S
	certErr := func(err error) {
		msg := err.Error()
		if fe, ok := err.(*fileError); ok {
			msg = fe.msg
		}
		p := res.decl.Cert.P
		j.ds = append(append([]Diagnostic(nil), res.diags...), Diagnostic{File: j.file, Line: p.Line, Col: p.Col, Severity: SeverityError,
			Message: fmt.Sprintf("certificate file %s %s", certFile, msg)})
	}
	cf, err := r.stat(certFile)
	if err != nil {
		certErr(err)
		return
	}
	ch, err := cf.id()
	if err != nil {
		certErr(err)
		return
	}
	l.cmu.Lock()
	cr := l.certs[certFile]
	l.cmu.Unlock()
	if cr == nil || cr.hash != ch {
		cb, err := cf.readShared() // kept in cr: read-only
		if err != nil {
			certErr(err)
			return
		}
		cr = &certResult{hash: ch, pem: cb, facts: parseCertChainWith(cb, l.sigCache())}
		l.cmu.Lock()
		l.certs[certFile] = cr
		l.cmu.Unlock()
	}
	j.cert = cr
	l.loadPages(r, j)
	l.finishClientCA(r, j)
}

// safeEvalSite turns a panic inside CUE into a diagnostic: one hostile file must not take
// the process down.
func safeEvalSite(ev *evaluator, name, file string, b []byte) (decl *siteDecl, ds []Diagnostic) {
	defer func() {
		if p := recover(); p != nil {
			decl = nil
			ds = []Diagnostic{panicDiag(file, p)}
		}
	}()
	return ev.evalSite(name, file, b)
}

// safeEvalRepo is safeEvalSite for the repo-level file.
func safeEvalRepo(ev *evaluator, file string, b []byte) (decl *repoDecl, ds []Diagnostic) {
	defer func() {
		if p := recover(); p != nil {
			decl = nil
			ds = []Diagnostic{panicDiag(file, p)}
		}
	}()
	return ev.evalRepo(file, b)
}

func panicDiag(file string, p any) Diagnostic {
	return Diagnostic{File: file, Line: 1, Col: 1, Severity: SeverityError,
		Message: fmt.Sprintf("could not be evaluated (internal error in the CUE evaluator: %v); simplify the file", p)}
}

// evict forgets files that are gone from the repo.
func (l *Loader) evict(sites, certs map[string]bool) {
	for k := range l.sites {
		if !sites[k] {
			delete(l.sites, k)
		}
	}
	for k := range l.built {
		if !sites[k] {
			delete(l.built, k)
		}
	}
	for k := range l.certs {
		if !certs[k] {
			delete(l.certs, k)
		}
	}
}

// windows returns the effective expiry windows.
func (l *Loader) windows(repo *repoResult) (warn, errw time.Duration) {
	warn, errw = DefaultCertWarnWithin, DefaultCertErrorWithin
	if p := repo.decl.WarnWithin; p != nil {
		warn = *p
	}
	if p := repo.decl.ErrorWithin; p != nil {
		errw = *p
	}
	if o := l.opts.CertWarnWithin; o != 0 {
		warn = max(o, 0)
	}
	if o := l.opts.CertErrorWithin; o != 0 {
		errw = max(o, 0)
	}
	return warn, errw
}

func hexDigest(parts ...[32]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
