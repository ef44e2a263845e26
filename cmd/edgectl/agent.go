package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/edge/proxy"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"golang.org/x/net/netutil"
)

func init() {
	register(command{name: "agent", summary: "poll the config repo, fetch keys, serve the sites", run: runAgentCmd})
}

// agentConfig is everything startAgent needs; the agent command fills it from flags and the
// demo fills it directly.
type agentConfig struct {
	Repo, Ref, Subdir string
	Interval          time.Duration
	GitAuth           gitsource.Auth
	SigningKeyring    string // armored OpenPGP keyring file; empty: no signature policy
	StateDir          string // where the accepted revision is kept across restarts; empty: nowhere
	GitMaxPack        int64  // bytes one fetch may make the agent hold; 0: gitsource.DefaultMaxPackBytes
	GitMaxRefBytes    int64  // bytes a poll may read before the pack; 0: gitsource.DefaultMaxRefBytes
	GitMaxRefs        int    // references the server may advertise; 0: gitsource.DefaultMaxRefs

	Keys       string // "dir" or "vault"
	KeyDir     string
	Vault      keysource.VaultConfig
	KeyRefresh time.Duration
	// UsersRefresh is how often basic-auth users secrets are read again; zero: Interval.
	UsersRefresh time.Duration

	Listen, HTTPListen, AdminListen string
	WebhookSecret                   []byte
	WebhookListen                   string // its own listener for /webhook/git; empty: admin only
	DebugPprof                      bool   // serve net/http/pprof on the admin listener
	HTTP1Server                     string // edge.Options.HTTP1
	UIRepoURL                       string // the status page links diagnostics here (see statuspage.Options.RepoURL)
	// TrustedProxies are peers whose forwarding headers (X-Forwarded-*, Forwarded,
	// X-Real-IP...) are kept and appended to; empty: every client's are dropped.
	TrustedProxies []netip.Prefix
	// ProxyProtocolFrom are load balancers whose connections start with a PROXY protocol
	// header (v1 or v2) giving the client's address; empty: none.
	ProxyProtocolFrom []netip.Prefix
	Eval              schema.Isolation
	// AdminAccess is the admin listener's access control: token, TLS, client CA.
	AdminAccess edge.AdminAccess
	HTTP3       edge.HTTP3Options // HTTP/3 on Listen's address over UDP; zero: on
	HTTP2Server edge.HTTP2Server  // which HTTP/2 server (edge.Limits.HTTP2Server); empty: edge's fork

	Logger    *slog.Logger
	AccessLog *slog.Logger // nil: no access log
	// Issue configures issued certificates (tls: {issuer}); they need --keys vault.
	Issue issueConfig

	// Fleet serves GET /ui/api/fleet (the peers' status for the page); nil: not served.
	Fleet http.Handler

	// SessionTickets shares the TLS session ticket keys through Vault (--keys vault).
	SessionTickets sessionTicketConfig
}

// agentRun is a started agent: the data plane serving and the reconcile loop polling.
type agentRun struct {
	Server *edge.Server
	Agent  *reconcile.Agent
	Source *gitsource.Source

	loopDone chan error
	closeKey func()
	hook     *http.Server // the webhook's own listener, or nil
}

// startAgent wires the pipeline (the git source, the schema loader and the key source into
// the reconcile agent, which publishes to the edge server), binds the listeners and starts
// polling. The agent runs until ctx is done; then call Stop to drain.
func startAgent(ctx context.Context, c agentConfig) (_ *agentRun, err error) {
	if c.Repo == "" {
		return nil, errors.New("no config repo: set --repo or EDGE_REPO")
	}
	if c.WebhookListen != "" && len(c.WebhookSecret) == 0 {
		return nil, errors.New("--webhook-listen needs --webhook-secret-file")
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	loader := newLoader(c)
	src, err := newGitSource(c, log, loader)
	if err != nil {
		return nil, err
	}
	keys, closeKey, err := newKeySource(ctx, c, log)
	if err != nil {
		return nil, err
	}
	var hookSrv *http.Server
	defer func() { // on error, release what was started
		if err != nil {
			if hookSrv != nil {
				hookSrv.Close()
			}
			closeKey()
		}
	}()

	if len(c.WebhookSecret) > 0 { // it checks the git host's signature, which cannot send our token
		c.AdminAccess.OpenPaths = append(c.AdminAccess.OpenPaths, "/webhook/git")
	}
	srv := edge.NewServer(edge.Options{
		Listen: c.Listen, HTTPListen: c.HTTPListen, AdminListen: c.AdminListen, AdminAccess: c.AdminAccess,
		Logger: log, AccessLog: c.AccessLog,
		Proxy: proxy.Options{TrustedProxies: c.TrustedProxies}, HTTP3: c.HTTP3,
		ProxyProtocolFrom: c.ProxyProtocolFrom, HTTP1: c.HTTP1Server,
		Limits: edge.Limits{HTTP2Server: c.HTTP2Server},
	})
	var issuing atomic.Pointer[reconcile.Agent]
	issued, closeIssued, err := newIssued(c, keys, srv, log, &issuing)
	if err != nil {
		return nil, err
	}
	closeKey = func(closeKey func()) func() { return func() { closeIssued(); closeKey() } }(closeKey)
	agent, err := newAgent(c, src, loader, keys, srv, log, issued)
	if err != nil {
		return nil, err
	}
	issuing.Store(agent)
	mountFleet(srv.AdminMux(), c.Fleet)
	webhook := &webhookHandler{Secret: c.WebhookSecret, Ref: src.Ref, Trigger: agent.Trigger, Logger: log}
	mountAdmin(srv.AdminMux(), agent, webhook, c.DebugPprof)
	if err := mountStatusPage(srv.AdminMux(), agent, srv, c); err != nil {
		return nil, err
	}
	if err := startSessionTickets(ctx, c, keys, srv, log); err != nil {
		return nil, err
	}
	if c.WebhookListen != "" {
		if hookSrv, err = startWebhookListener(ctx, c.WebhookListen, webhook, log); err != nil {
			return nil, err
		}
	}
	if err := srv.Start(ctx); err != nil {
		return nil, adminAccessHint(err)
	}
	r := &agentRun{Server: srv, Agent: agent, Source: src, loopDone: make(chan error, 1), closeKey: closeKey, hook: hookSrv}
	go func() { r.loopDone <- agent.Run(ctx) }()
	return r, nil
}

// newAgent returns the reconcile loop between the pipeline's stages: the git source, the
// schema loader, the key source and the edge server it publishes to.
func newAgent(c agentConfig, src *gitsource.Source, loader *schema.Loader, keys keysource.Source, srv *edge.Server, log *slog.Logger, issued reconcile.IssuedCerts) (*reconcile.Agent, error) {
	var state reconcile.StateStore
	if c.StateDir != "" {
		state = src
	}
	return reconcile.NewAgent(reconcile.AgentOptions{
		Source:       src,
		State:        state,
		Loader:       loader,
		Keys:         keys,
		Publisher:    srv,
		Interval:     c.Interval,
		KeyRefresh:   c.KeyRefresh,
		Users:        usersSource(keys),
		UsersRefresh: c.UsersRefresh,
		Logger:       log,
		Registerer:   srv.Registry(),
		Issued:       issued,
		// Static routes pinned to a content repository: fetched with the config repo's
		// credentials.
		Content: gitsource.NewContentStore(gitsource.ContentOptions{Auth: c.GitAuth, Logger: log}),
	})
}

// mountAdmin adds the agent's endpoints to the admin listener's mux: /status, the webhook
// and, if pprof, Go's profiler.
func mountAdmin(mux *http.ServeMux, agent *reconcile.Agent, webhook http.Handler, pprofOn bool) {
	mux.Handle("/status", reconcile.StatusHandler(agent))
	if pprofOn {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/webhook/git", webhook)
}

// newLoader returns the agent's schema loader.
func newLoader(c agentConfig) *schema.Loader {
	// An expired certificate is one site's trouble (a warning in status), not a reason to
	// hold back every other site's changes.
	// Files are evaluated in child processes: a file that blows up costs one of them.
	// Evaluations are kept in the state dir: a restart skips CUE for unchanged sites.
	// The agent writes that file once the new snapshot serves, not before.
	// Reloads (commits after the first) evaluate on all cores but one, left to serving.
	return schema.NewLoader(schema.LoaderOptions{LenientExpiry: true, Isolation: c.Eval, CacheDir: c.StateDir,
		DeferCacheWrite: true, ReloadWorkers: max(1, runtime.GOMAXPROCS(0)-1)})
}

// certsEarly has loader check the certificates of each fetched pack while the pack still
// arrives, on the core the fetch leaves idle (gitsource.EarlyBlobs, schema PrecheckCert).
func certsEarly(loader *schema.Loader) *gitsource.EarlyBlobs {
	return &gitsource.EarlyBlobs{Prefix: []byte("-----BEGIN CERTIFICATE-----"), Func: loader.PrecheckCert}
}

// newGitSource returns the config repo source c asks for, with its signature policy; the
// certificates it fetches are checked early by loader.
func newGitSource(c agentConfig, log *slog.Logger, loader *schema.Loader) (*gitsource.Source, error) {
	opts := gitsource.Options{URL: c.Repo, Ref: c.Ref, Subdir: c.Subdir, Auth: c.GitAuth, StateDir: c.StateDir, Logger: log,
		Early: certsEarly(loader), MaxPackBytes: c.GitMaxPack, MaxRefBytes: c.GitMaxRefBytes, MaxRefs: c.GitMaxRefs}
	if c.SigningKeyring != "" {
		pol, err := gitsource.LoadSignaturePolicy(c.SigningKeyring)
		if err != nil {
			return nil, fmt.Errorf("signature policy: %w", err)
		}
		opts.Signatures = pol
	}
	return gitsource.New(opts)
}

// newKeySource returns the key source c asks for (--keys dir or vault) and what releases it.
func newKeySource(ctx context.Context, c agentConfig, log *slog.Logger) (keysource.Source, func(), error) {
	switch c.Keys {
	case "dir":
		if c.KeyDir == "" {
			return nil, nil, errors.New("--keys dir needs --key-dir")
		}
		return keysource.Dir{Dir: c.KeyDir}, func() {}, nil
	case "vault":
		c.Vault.Logger = log
		vk, err := keysource.NewVault(ctx, c.Vault)
		if err != nil {
			return nil, nil, fmt.Errorf("vault: %w", err)
		}
		return vk, func() { vk.Close() }, nil
	}
	return nil, nil, fmt.Errorf("--keys %q: want dir or vault", c.Keys)
}

// startWebhookListener serves webhook, and nothing else, on addr. Reachable by the git
// host, so by others too: it is bounded in time and connections.
func startWebhookListener(ctx context.Context, addr string, webhook http.Handler, log *slog.Logger) (*http.Server, error) {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhook/git", webhook)
	ln = netutil.LimitListener(ln, webhookMaxConns)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("webhook listener", "err", err)
		}
	}()
	log.Info("webhook listening", "addr", ln.Addr().String(), "path", "/webhook/git")
	return srv, nil
}

// Stop waits for the reconcile loop (whose context must be done) and drains the listeners.
func (r *agentRun) Stop(timeout time.Duration) error {
	<-r.loopDone
	defer r.closeKey()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if r.hook != nil {
		// Beside the edge's drain, not before it: a slow webhook client must not use up
		// the time of the requests and WebSockets in flight.
		done := make(chan struct{})
		go func() {
			defer close(done)
			hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
			defer hcancel()
			if err := r.hook.Shutdown(hctx); err != nil {
				r.hook.Close()
			}
		}()
		defer func() { <-done }()
	}
	return r.Server.Shutdown(ctx)
}

// defaultStateDir is --state-dir's default.
const defaultStateDir = "/var/lib/edge/state"

// webhookMaxConns caps the connections of the webhook's own listener.
const webhookMaxConns = 64

const agentUsage = `usage: edgectl agent [flags]

Serves the sites of a config repo: polls the repo (one reference request per idle poll),
validates each new commit, reads the sites' private keys from Vault or a key directory,
and swaps the compiled sites into the HTTPS listener without a restart. An invalid commit is
rejected and the previous one keeps serving; /status and ` + "`edgectl status`" + ` say why.
Config files are evaluated in child processes: a file that needs more than --eval-memory or
--eval-timeout is refused like any invalid file, and the agent keeps serving.

The commit being served is kept in --state-dir (the config repo's files only: site files
and public certificates, never a private key or a token). After a restart the agent serves
it at once, reading the keys again, while it polls; if the repo is unreachable or its newest
commit is rejected, it goes on serving it, and status says so and why.

HTTP/3 (QUIC) is served over UDP on the --listen address, and TCP responses advertise it
(Alt-Svc), unless --http3=false: open the UDP port as well as the TCP one.

Memory: the Go runtime's soft memory limit is GOMEMLIMIT if set, else 90% of the cgroup's
(container's) memory limit if there is one (--memory-limit sets it, or off); the GC target
is GOGC if set, else Go's 100 (--gc-percent sets it: lower holds less memory between
collections and spends more CPU per request), and the heap is not collected before it
reaches --gc-heap-floor (64 MiB: fewer collections, a shorter latency tail).

SIGTERM drains and exits; SIGHUP polls now. Every flag has the environment fallback shown.

` + adminAccessUsage + `flags:
`

func runAgentCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := flag.NewFlagSet("agent", flag.ContinueOnError)
	f.SetOutput(stderr)
	f.Usage = func() { fmt.Fprint(stderr, agentUsage); f.PrintDefaults() }
	var c agentConfig
	var v agentFlagValues
	defineAgentFlags(f, &c, &v)
	if code, ok := parseFlags(f, args, stderr); !ok {
		return code
	}
	if err := envFallbacks(f); err != nil {
		fmt.Fprintf(stderr, "edgectl agent: %v\n", err)
		return exitUsage
	}
	if err := v.complete(&c, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "edgectl agent: %v\n", err)
		return exitUsage
	}
	v.memorySettings.apply(c.Logger)
	routeStdLog(c.Logger)
	return serveAgent(ctx, c, v.drain, stderr)
}

// agentFlagValues are the agent's flags that agentConfig does not hold as given.
type agentFlagValues struct {
	drain                                                  time.Duration
	eval                                                   evalFlags
	fleet                                                  fleetPeerFlags
	tokenFile, webhookFile, logFormat, logLevel, accessLog string
	http3                                                  http3Flags
	memory                                                 memoryFlags
	memorySettings                                         memorySettings
}

// defineAgentFlags registers the agent's flags on f, into c and v.
func defineAgentFlags(f *flag.FlagSet, c *agentConfig, v *agentFlagValues) {
	f.StringVar(&c.Repo, "repo", "", "config repo URL or path (https://, ssh://, file://, local path) [EDGE_REPO]")
	f.StringVar(&c.Ref, "ref", "", "branch or tag to follow; empty: the remote's HEAD [EDGE_REF]")
	f.StringVar(&c.Subdir, "subdir", "", "directory of the repo holding the config [EDGE_SUBDIR]")
	f.DurationVar(&c.Interval, "interval", 30*time.Second, "poll interval, jittered [EDGE_INTERVAL]")
	f.StringVar(&c.GitAuth.Username, "git-username", "", "HTTPS user name [EDGE_GIT_USERNAME]")
	f.StringVar(&v.tokenFile, "git-token-file", "", "file holding an HTTPS token or password [EDGE_GIT_TOKEN_FILE]")
	f.StringVar(&c.GitAuth.SSHKeyFile, "git-ssh-key", "", "SSH private key for ssh:// repos [EDGE_GIT_SSH_KEY]")
	f.StringVar(&c.GitAuth.KnownHostsFile, "git-known-hosts", "", "known_hosts file for SSH [EDGE_GIT_KNOWN_HOSTS]")
	f.Func("git-max-pack", "most a fetch of the config repo may make the agent hold (the pack, its objects and deltas), e.g. 256MiB; a bigger pack fails the poll and the previous revision keeps serving; default 1GiB [EDGE_GIT_MAX_PACK]", func(s string) (err error) {
		c.GitMaxPack, err = parseSize(s, 1<<20)
		return err
	})
	f.Func("git-max-ref-bytes", "most a poll of the config repo may read before the pack (reference advertisement, capabilities, shallow and ACK lines; bounded as read over HTTPS, SSH and git://), e.g. 4MiB; more fails the poll and the previous revision keeps serving; default 16MiB [EDGE_GIT_MAX_REF_BYTES]", func(s string) (err error) {
		c.GitMaxRefBytes, err = parseSize(s, minGitMaxRefBytes)
		return err
	})
	f.Func("git-max-refs", "most references the config repo's server may advertise; more fails the poll and the previous revision keeps serving; default 100000 [EDGE_GIT_MAX_REFS]", func(s string) (err error) {
		c.GitMaxRefs, err = parseCount(s, minGitMaxRefs)
		return err
	})
	f.StringVar(&c.SigningKeyring, "require-signed-by", "", "armored OpenPGP keyring; commits not signed by one of its keys are refused [EDGE_SIGNING_KEYRING]")
	f.StringVar(&c.StateDir, "state-dir", defaultStateDir, "directory keeping the accepted revision across restarts (created 0700), or off [EDGE_STATE_DIR]")
	f.StringVar(&c.KeyDir, "key-dir", "", "local key directory <dir>/<mount>/<path>/<field>.pem [EDGE_KEY_DIR]")
	f.StringVar(&c.Keys, "keys", "", "key source: dir or vault (default: dir if --key-dir is set, else vault) [EDGE_KEYS]")
	f.StringVar(&c.Vault.Address, "vault-addr", "", "Vault address [VAULT_ADDR]")
	f.StringVar(&c.Vault.CACert, "vault-cacert", "", "PEM CAs for Vault's certificate [VAULT_CACERT]")
	f.StringVar(&c.Vault.TokenFile, "vault-token-file", "", "file holding the Vault token, re-read on change (else $VAULT_TOKEN) [VAULT_TOKEN_FILE]")
	f.StringVar(&c.Vault.AppRole.RoleID, "vault-role-id", "", "AppRole role_id [VAULT_ROLE_ID]")
	f.StringVar(&c.Vault.AppRole.SecretIDFile, "vault-secret-id-file", "", "file holding the AppRole secret_id [VAULT_SECRET_ID_FILE]")
	f.DurationVar(&c.KeyRefresh, "key-refresh", time.Hour, "re-read unpinned keys this often, spread over time; negative: never [EDGE_KEY_REFRESH]")
	c.SessionTickets.add(f)
	f.DurationVar(&c.UsersRefresh, "users-refresh", 0, "re-read basic-auth users secrets from Vault this often (a password changed in Vault takes effect within it); 0: the poll interval [EDGE_USERS_REFRESH]")
	f.StringVar(&c.Listen, "listen", ":443", "HTTPS listen address [EDGE_LISTEN]")
	f.StringVar(&c.HTTPListen, "http-listen", ":80", "plain-HTTP (redirect) listen address, or off [EDGE_HTTP_LISTEN]")
	v.http3.add(f, true)
	f.Func("http2-server", "HTTP/2 server: edge (edge's fork of net/http's: fewer goroutine hand-offs per response, less CPU per small request) or go (net/http's, the fallback); default edge [EDGE_HTTP2_SERVER]", func(s string) (err error) {
		c.HTTP2Server, err = edge.ParseHTTP2Server(s)
		return err
	})
	f.StringVar(&c.AdminListen, "admin", "127.0.0.1:9443", "admin listen address (/healthz /readyz /metrics /status /ui/ /webhook/git), or off [EDGE_ADMIN_LISTEN]")
	f.StringVar(&c.WebhookListen, "webhook-listen", "", "also serve /webhook/git, and nothing else, on this address (plain HTTP), so the git host can reach it without the admin listener [EDGE_WEBHOOK_LISTEN]")
	f.StringVar(&v.webhookFile, "webhook-secret-file", "", "file holding the git webhook secret; empty disables /webhook/git [EDGE_WEBHOOK_SECRET_FILE]")
	defineAdminAccessFlags(f, &c.AdminAccess, true)
	f.StringVar(&c.UIRepoURL, "ui-repo-url", "", "link the status page's diagnostics to the repo's web UI: a URL template with {commit}, {file}, {line}, {col}, e.g. https://git.example/org/config/blob/{commit}/{file}#L{line} [EDGE_UI_REPO_URL]")
	f.BoolVar(&c.DebugPprof, "debug-pprof", false, "serve Go's profiler at /debug/pprof/ on the admin listener (keep that listener private) [EDGE_DEBUG_PPROF]")
	f.StringVar(&c.HTTP1Server, "http1-server", edge.HTTP1Edge, "server of HTTP/1.1 over TLS: edge (edge's own loop) or go (net/http's, the fallback) [EDGE_HTTP1_SERVER]")
	f.DurationVar(&v.drain, "drain-timeout", 30*time.Second, "on SIGTERM, how long requests and WebSockets in flight may finish [EDGE_DRAIN_TIMEOUT]")
	v.eval.add(f, "EDGE_EVAL_MEMORY", "EDGE_EVAL_TIMEOUT")
	v.fleet.add(f)
	f.StringVar(&v.logFormat, "log-format", "text", "log format: text or json [EDGE_LOG_FORMAT]")
	f.StringVar(&v.logLevel, "log-level", "info", "log level: debug, info, warn or error [EDGE_LOG_LEVEL]")
	f.StringVar(&v.accessLog, "access-log", "text", "access log to stdout: off, text or json [EDGE_ACCESS_LOG]")
	c.Issue.add(f)
	v.memory.add(f)
	f.Var((*prefixList)(&c.TrustedProxies), "trusted-proxies", "comma-separated CIDR networks or addresses of proxies in front of edge (load balancers) whose X-Forwarded-*, Forwarded and X-Real-IP headers are kept and appended to; empty: such headers from clients are dropped [EDGE_TRUSTED_PROXIES]")
	f.Var((*prefixList)(&c.ProxyProtocolFrom), "proxy-protocol-from", "comma-separated CIDR networks or addresses of load balancers whose connections to the HTTPS and HTTP listeners start with a PROXY protocol header (v1 or v2; required from them, never believed from anyone else) giving the client address that logs, X-Forwarded-For and IP rules use; empty: none [EDGE_PROXY_PROTOCOL_FROM]")
}

// complete fills in c from the parsed flags: defaults that depend on other flags, the
// loggers, and the secrets read from files.
func (v *agentFlagValues) complete(c *agentConfig, stdout, stderr io.Writer) error {
	if c.StateDir == "off" {
		c.StateDir = ""
	}
	c.Eval = v.eval.isolation()
	c.HTTP3 = v.http3.options()
	if c.Keys == "" {
		c.Keys = "vault"
		if c.KeyDir != "" {
			c.Keys = "dir"
		}
	}
	var err error
	if c.Logger, err = newLogger(stderr, v.logFormat, v.logLevel); err != nil {
		return err
	}
	if v.memorySettings, err = v.memory.settings(os.Getenv, cgroupMemoryLimit); err != nil {
		return err
	}
	switch v.accessLog {
	case "off":
	case "text", "json":
		c.AccessLog = edge.NewAccessLogger(stdout, v.accessLog == "json")
	default:
		return fmt.Errorf("--access-log %q: want off, text or json", v.accessLog)
	}
	if v.tokenFile != "" {
		if c.GitAuth.Token, err = readSecretFile(v.tokenFile); err != nil {
			return fmt.Errorf("git token: %w", err)
		}
	}
	if c.Fleet, err = v.fleet.handler(c.Logger); err != nil {
		return fmt.Errorf("fleet peers: %w", err)
	}
	if v.webhookFile != "" {
		s, err := readSecretFile(v.webhookFile)
		if err != nil {
			return fmt.Errorf("webhook secret: %w", err)
		}
		c.WebhookSecret = []byte(s)
	}
	return nil
}

// serveAgent runs the agent until ctx is done (SIGHUP polls now), then drains.
func serveAgent(ctx context.Context, c agentConfig, drain time.Duration, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run, err := startAgent(ctx, c)
	if err != nil {
		fmt.Fprintf(stderr, "edgectl agent: %v\n", err)
		return exitUsage
	}
	c.Logger.Info("agent started", "repo", c.Repo, "ref", c.Ref, "listen", run.Server.Addr(),
		"http", addrString(run.Server.HTTPAddr()), "admin", addrString(run.Server.AdminAddr()), "keys", c.Keys,
		"state_dir", cmp.Or(c.StateDir, "off"))

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				c.Logger.Info("SIGHUP: polling now")
				run.Agent.Trigger()
			case <-ctx.Done():
				return
			}
		}
	}()
	<-ctx.Done()
	c.Logger.Info("stopping: draining connections")
	if err := run.Stop(drain); err != nil {
		c.Logger.Warn("drain incomplete", "err", err)
	}
	return exitOK
}

// newLogger returns a text or JSON slog logger writing to w, at level ("debug", "info",
// "warn" or "error").
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// routeStdLog makes log the default logger: what libraries write with the standard log
// package (quic-go's warning that it could not get the UDP buffers it wants, net/http
// servers without an ErrorLog) comes out in the agent's format, at level WARN.
func routeStdLog(log *slog.Logger) {
	slog.SetDefault(log)
	slog.SetLogLoggerLevel(slog.LevelWarn)
}

// readSecretFile reads a one-line secret, trimming surrounding white space.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// envFallbacks sets every flag of f not given on the command line from the environment
// variable its usage names in brackets ("... [EDGE_INTERVAL]"), checked as the flag checks
// its value: a bad value is an error naming the variable, never silently the default.
func envFallbacks(f *flag.FlagSet) error {
	given := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var errs []error
	f.VisitAll(func(fl *flag.Flag) {
		name := envName(fl.Usage)
		if given[fl.Name] || name == "" {
			return
		}
		if v, ok := os.LookupEnv(name); ok {
			if err := fl.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q (--%s): %w", name, v, fl.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// envName returns the variable named at the end of a flag's usage ("... [EDGE_REF]"), or "".
func envName(usage string) string {
	i := strings.LastIndex(usage, "[")
	if i < 0 || !strings.HasSuffix(usage, "]") {
		return ""
	}
	return usage[i+1 : len(usage)-1]
}

func addrString(a interface{ String() string }) string {
	if a == nil {
		return "off"
	}
	return a.String()
}
