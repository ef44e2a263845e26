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
	"sync/atomic"
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
	disk    *diskCache   // nil without CacheDir (evalcache.go)
	urls    urlCache     // upstream URLs parsed by the running assemble (urlcache.go); nil between loads
	diskErr error        // the last load's failure to write disk
	loaded  bool         // a load succeeded: the next ones use ReloadWorkers
	pending *diskWrite   // a load's cache write DeferCacheWrite left to WriteEvalCache
	last    *lastLoad    // what the next load can start from (incremental.go); nil: a full load
	fast    siteFastPath // asked before CUE for each site file to evaluate (fastpath.go); nil: none
	sigs    *sigMemo     // the running load's successful signature checks (sigcache.go); nil between loads
	trace   *LoadTrace   // the running load's hooks (loadtrace.go); nil: none
	pre     precheck     // certificate chains checked ahead of the next load (certprecheck.go)

	preFacts map[[32]byte]*certFacts // the running load's share of pre; nil between loads
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
	l := &Loader{opts: opts, sites: map[string]*siteResult{}, certs: map[string]*certResult{}, built: map[string]*builtEntry{},
		fast: newFastPath()}
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
	l.sigs, l.trace, l.preFacts = &sigMemo{}, loadTraceOf(ctx), l.pre.take()
	defer func() {
		l.sigs, l.trace, l.preFacts = nil, nil, nil
		l.pre.done()
	}()
	r := &repoReader{fsys: fsys, maxSize: l.opts.MaxFileSize}
	evals := l.newEvalService(ctx)
	defer evals.close()

	repo, ds := l.loadRepo(r, evals)
	ds = append(ds, strayRoot(r)...)
	if cfg, err, ok := l.loadIncremental(ctx, r, repo, ds, evals); ok {
		return cfg, err
	}
	l.last = nil
	jobs, jds, entries := l.siteJobs(r)
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
	var keep *lastLoad
	if entries != nil && sitesIsDir(r) {
		keep = &lastLoad{fsys: fsys, repo: repo, entries: entries}
	}
	cfg, err := l.assemble(r, repo, jobs, ds, keep)
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
	counted    bool // its records count as wanted in the evaluation cache (evalcache_live.go)

	// Set by assembleJob, kept for the next load (incremental.go):
	inputs   []string     // the repo paths the job looked up (recorded by its repoReader)
	all      []Diagnostic // every diagnostic of the site's own (not cross-file checks)
	decl     *siteDecl    // the valid declaration cross-file checks see; nil if none
	out      *builtSite   // the site served; nil when it has errors
	next     time.Time    // when its certificate's expiry diagnostic changes; zero: never
	volatile bool         // a transient evaluation failure: load it again next time
}

// siteJobs lists the site files of the repo, and the diagnostics of the other entries of
// sites/ by entry name (nil when sites/ cannot be listed).
func (l *Loader) siteJobs(r *repoReader) ([]*siteJob, []Diagnostic, map[string][]Diagnostic) {
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
	var entries map[string][]Diagnostic
	if err == nil {
		entries = map[string][]Diagnostic{}
	}
	for _, e := range ents {
		j, eds := classifySiteEntry(e)
		ds = append(ds, eds...)
		if len(eds) > 0 {
			entries[e.Name()] = eds
		}
		if j != nil {
			jobs = append(jobs, j)
		}
	}
	return jobs, ds, entries
}

// classifySiteEntry turns one entry of sites/ into a job, or the diagnostics of an entry
// that is not a site file (nil job, maybe no diagnostic).
func classifySiteEntry(e fs.DirEntry) (*siteJob, []Diagnostic) {
	n := e.Name()
	file := SitesDir + "/" + n
	if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".cue") {
		var ds []Diagnostic
		if e.IsDir() && !strings.HasPrefix(n, ".") {
			ds = append(ds, Diagnostic{File: file, Severity: SeverityWarning,
				Message: file + " is a directory; site files must be directly in sites/, so it is ignored"})
		}
		if d, ok := straySiteEntry(file, e); ok {
			ds = append(ds, d)
		}
		return nil, ds
	}
	name := strings.TrimSuffix(n, ".cue")
	if !siteName.MatchString(name) {
		return nil, []Diagnostic{{File: file, Severity: SeverityError,
			Message: fmt.Sprintf("%q is not a valid site name; name site files with lower-case letters, digits, '.', '-' and '_' (e.g. sites/example-com.cue)", name)}}
	}
	return &siteJob{name: name, file: file}, nil
}

// evalSites evaluates the jobs in parallel, one lane of evals per goroutine, until ctx is
// done. Results may arrive after it returns: close evals before reading them.
//
// The workers take the next job themselves (an atomic index) rather than from a goroutine
// handing them out over a channel: at 10,000 plain site files a job takes about 100 µs, and
// with every core busy the handing goroutine waited for one, so each worker spent about a
// fifth of a cold start's load waiting for its next job.
func (l *Loader) evalSites(ctx context.Context, r *repoReader, repo *repoResult, jobs []*siteJob, evals evalService) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < min(l.workers(), max(len(jobs), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(jobs)) {
					return
				}
				j := jobs[i]
				l.safeLoadSite(r.forJob(j), repo, j, w, evals)
			}
		}()
	}
	wg.Wait()
}

// assemble builds the sites of the evaluated jobs and checks across files. When keep is
// not nil, it completes keep as the start of the next load (incremental.go) and keeps it.
func (l *Loader) assemble(r *repoReader, repo *repoResult, jobs []*siteJob, ds []Diagnostic, keep *lastLoad) (*Config, error) {
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
		seenSites[j.file] = true
		l.assembleJob(r, repo, j, now, warn, errw)
		ds = append(ds, j.all...)
		if j.decl == nil {
			continue
		}
		decls = append(decls, j.decl)
		if j.cert == nil && j.decl.Pass == nil && j.decl.Issuer.S == "" {
			continue
		}
		if j.cert != nil {
			seenCerts[j.decl.Cert.S] = true
		}
		if j.ca != nil {
			seenCerts[caCacheKey(j.decl.ClientAuth.CA.S)] = true
		}
		if j.out != nil {
			built = append(built, j.out)
		}
	}
	x := newCrossIndex(decls, repo.decl.AllowOverlap)
	ds = append(ds, x.all(jobs)...)
	l.evict(seenSites, seenCerts)
	l.evictPages(seenSites)
	sort.Slice(built, func(i, j int) bool { return built[i].site.Name < built[j].site.Name })
	sites := make([]*Site, len(built))
	for i, b := range built {
		sites[i] = b.site
	}
	if keep != nil {
		keep.now, keep.jobs, keep.cross, keep.sites = now, jobs, x, sites
		keep.horizon = horizonOf(jobs)
		keep.inputs = newInputIndex(jobs)
		l.last = keep
	}
	return finishConfig(cfg, sites, ds)
}

// finishConfig completes cfg with its sites (by name) and warnings, or returns the
// diagnostics when ds holds an error.
func finishConfig(cfg *Config, sites []*Site, ds []Diagnostic) (*Config, error) {
	atFileStart(ds)
	sortDiags(ds)
	if hasError(ds) {
		return nil, Diagnostics(ds)
	}
	cfg.Sites = sites
	if len(cfg.Sites) == 0 {
		cfg.Sites = nil
		ds = append(ds, Diagnostic{File: SitesDir, Line: 1, Col: 1, Severity: SeverityWarning, Message: "declares no sites; nothing will be served"})
	}
	cfg.Warnings = Diagnostics(ds)
	if len(ds) == 0 {
		cfg.Warnings = nil
	}
	return cfg, nil
}

// assembleJob checks and builds the site of one evaluated job, setting j.all, j.decl, j.out
// and j.next.
func (l *Loader) assembleJob(r *repoReader, repo *repoResult, j *siteJob, now time.Time, warn, errw time.Duration) {
	j.all, j.decl, j.out, j.next = j.ds, nil, nil, time.Time{}
	if j.res == nil || j.res.decl == nil || hasError(j.res.diags) {
		return
	}
	d := j.res.decl
	j.decl = d
	if j.cert == nil && d.Pass == nil && d.Issuer.S == "" {
		return // the certificate file could not be read: already reported
	}
	var st staticSet
	if hasStatic(d) {
		var sds []Diagnostic
		if st, sds = staticDirs(r.forJob(j), d); hasError(sds) {
			j.all = append(j.all[:len(j.all):len(j.all)], sds...)
			return
		}
	}
	b, bds := l.build(j.res, j.cert, j.ca, j.pages, repo, st, now, warn, errw)
	j.all = append(j.all[:len(j.all):len(j.all)], bds...)
	j.out = b
	if j.cert != nil {
		j.next = nextExpiryChange(j.cert.facts, now, warn, errw)
	}
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
	if l.fast != nil {
		if d, ok := l.fast.evalSite(j.name, j.file, b); ok {
			l.evaluated(r, j, &siteResult{hash: h, decl: d}, false)
			return
		}
	}
	evals.eval(lane, evalRequest{Kind: siteFile, Name: j.name, File: j.file, Src: b}, func(o evalOutcome) {
		l.evaluated(r, j, &siteResult{hash: h, decl: o.site, diags: o.diags}, o.transient)
	})
}

// evaluated keeps the result of evaluating j's file (unless it is transient, a failure of
// the evaluation rather than of the file) and finishes the site.
func (l *Loader) evaluated(r *repoReader, j *siteJob, res *siteResult, transient bool) {
	j.volatile = transient
	if !transient {
		l.cmu.Lock()
		l.sites[j.file] = res
		l.cmu.Unlock()
	}
	j.res = res
	l.finishSite(r, j)
}

// finishSite reads and parses the certificate of an evaluated site (or reuses the cached
// result for unchanged content) and sets j's diagnostics.
func (l *Loader) finishSite(r *repoReader, j *siteJob) {
	res := j.res
	j.ds = res.diags
	if res.decl == nil || hasError(res.diags) || res.decl.Pass != nil || res.decl.Issuer.S != "" {
		return // a passthrough site has no certificate; an issued one is not in the repo
	}
	l.trace.siteKey(res.decl)
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
		facts := l.prechecked(ch)
		if facts == nil {
			facts = parseCertChainWith(cb, l.sigChecks(l.sigs))
		}
		cr = &certResult{hash: ch, pem: cb, facts: facts}
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

// safeLoadSite is loadSite on a worker goroutine of evalSites, where a panic would end the
// process: it reads hostile content (a certificate chain, pages), so a panic there (in a
// parser of the standard library, or of ours) makes the site's file an error diagnostic
// instead, loaded again by the next load. The panic value is not quoted: it may quote the
// content.
func (l *Loader) safeLoadSite(r *repoReader, repo *repoResult, j *siteJob, lane int, evals evalService) {
	defer func() {
		if p := recover(); p != nil {
			j.res, j.cert, j.pages, j.ca, j.volatile = nil, nil, nil, nil, true
			what := fmt.Sprintf("%T", p)
			if re, ok := p.(runtime.Error); ok {
				what = re.Error()
			}
			j.ds = []Diagnostic{{File: j.file, Line: 1, Col: 1, Severity: SeverityError,
				Message: fmt.Sprintf("could not be loaded (internal error: %s)", what)}}
		}
	}()
	l.loadSite(r, repo, j, lane, evals)
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
