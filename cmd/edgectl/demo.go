package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile/gitsource"
)

// demoPassthrough makes the demo declare the passthrough site "secure" and start its TLS
// sample app, whose own certificate clients then see.
const demoPassthrough = true

func init() {
	register(command{name: "demo", summary: "run a local edge with two sample apps (only Go needed)", run: runDemoCmd})
}

// demoConfig is what the demo command's flags set.
type demoConfig struct {
	Dir                             string
	Keep                            bool
	Listen, HTTPListen, AdminListen string
	App                             string // auto, node or go
	ChangeAfter                     time.Duration
	Interval                        time.Duration
	Verbose                         bool
	AccessLog                       bool
	Eval                            evalFlags
	AdminAccess                     edge.AdminAccess
	HTTP3                           http3Flags
}

func runDemoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := flag.NewFlagSet("demo", flag.ContinueOnError)
	f.SetOutput(stderr)
	var c demoConfig
	f.StringVar(&c.Dir, "dir", "", "work directory (must not exist or be empty); default: a new temp directory")
	f.BoolVar(&c.Keep, "keep", false, "keep the work directory on exit")
	f.StringVar(&c.Listen, "listen", "127.0.0.1:8443", "HTTPS listen address (port 0: pick a free port)")
	f.StringVar(&c.HTTPListen, "http-listen", "127.0.0.1:8080", "plain-HTTP (redirect) listen address, or off")
	c.HTTP3.add(f, false)
	f.StringVar(&c.AdminListen, "admin", "127.0.0.1:9443", "admin listen address (/status /metrics /healthz), or off")
	f.StringVar(&c.App, "app", "auto", "sample apps: node (examples/apps/hello.js), go (built in) or auto (node if on PATH)")
	f.DurationVar(&c.ChangeAfter, "change-after", 5*time.Second, "commit a live change to the config repo after this long; 0 disables")
	f.DurationVar(&c.Interval, "interval", time.Second, "how often the agent polls the config repo")
	f.BoolVar(&c.Verbose, "v", false, "log what the agent does")
	f.BoolVar(&c.AccessLog, "access-log", false, "log every request the edge serves")
	c.Eval.add(f, "", "")
	defineAdminAccessFlags(f, &c.AdminAccess, false)
	f.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgectl demo [flags]\n\nRuns the whole edge on this machine: a git config repo, a local key directory,\ntwo sample apps and the agent serving them over TLS. Ctrl-C stops everything.\n\nflags:")
		f.PrintDefaults()
	}
	if code, ok := parseFlags(f, args, stderr); !ok {
		return code
	}
	if err := runDemo(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "edgectl demo: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// runDemo runs the demo until ctx is done, then stops everything it started: the sample
// apps, the config repo and its keys, the agent serving them, and a live change.
func runDemo(ctx context.Context, c demoConfig, out, errw io.Writer) error {
	d := &demoSession{c: c, out: out, errw: errw, log: demoLogger(errw, c.Verbose)}
	defer d.stopAll()
	if err := d.workDir(); err != nil {
		return err
	}
	apps, err := d.startApps(ctx)
	if err != nil {
		return err
	}
	cfg, err := d.configRepo(apps, demoPassthrough)
	if err != nil {
		return err
	}
	if err := d.startTLSApp(ctx, cfg); err != nil {
		return err
	}
	run, err := d.startAgent(ctx, cfg)
	if err != nil {
		return err
	}
	addr := d.printReady(run, cfg)
	if c.ChangeAfter > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(c.ChangeAfter):
			if err := d.liveChange(ctx, run, cfg, addr); err != nil {
				return err
			}
		}
	}
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping: draining connections, stopping the sample apps")
	return nil
}

// demoSession is one run of the demo: its flags, where it prints and logs, its work
// directory, and what to stop on exit.
type demoSession struct {
	c         demoConfig
	out, errw io.Writer
	log       *slog.Logger
	dir       string
	cleanups  []func() // run in reverse order by stopAll
}

// demoConfigRepo is the config repo the demo writes and the agent serves.
type demoConfigRepo struct {
	dir            string // the repo's work tree
	repo           *gitsource.DemoRepo
	data           demoSiteData // what the site files are made of
	first          string       // the first commit
	listen         string       // the HTTPS listen address, its port resolved
	keyDir, caFile string
}

// demoLogger logs warnings, or with verbose what the agent does.
func demoLogger(errw io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: level}))
}

// onStop registers f to run on exit; everything started is stopped in reverse order,
// whatever happens.
func (d *demoSession) onStop(f func()) { d.cleanups = append(d.cleanups, f) }

func (d *demoSession) stopAll() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
}

// workDir makes the work directory (removed on exit unless kept) and prints the banner.
func (d *demoSession) workDir() error {
	dir, created, err := demoWorkDir(d.c.Dir)
	if err != nil {
		return err
	}
	d.dir = dir
	if !d.c.Keep && created {
		d.onStop(func() { os.RemoveAll(dir) })
	}
	keepNote := "removed on exit; --keep keeps it"
	if d.c.Keep || !created {
		keepNote = "kept on exit"
	}
	fmt.Fprintf(d.out, "edge demo: a GitOps TLS edge running on this machine\n\n")
	fmt.Fprintf(d.out, "  work dir     %s (%s)\n", dir, keepNote)
	return nil
}

// appKind is the kind of sample apps to start: --app, with auto resolved to node when
// node is on PATH, else go.
func (d *demoSession) appKind() string {
	kind := d.c.App
	if kind == "auto" {
		kind = "go"
		if _, err := exec.LookPath("node"); err == nil {
			kind = "node"
		}
	}
	return kind
}

// startApps starts two sample apps on free loopback ports.
func (d *demoSession) startApps(ctx context.Context) ([]*demoApp, error) {
	kind := d.appKind()
	var script string
	if kind == "node" {
		var err error
		if script, err = writeHelloJS(d.dir); err != nil {
			return nil, err
		}
	}
	var apps []*demoApp
	for _, name := range []string{"app-1", "app-2"} {
		app, err := startDemoApp(ctx, kind, name, script, d.errw)
		if err != nil {
			return nil, err
		}
		d.onStop(func() {
			if err := app.stop(5 * time.Second); err != nil {
				d.log.Warn("sample app did not stop", "app", app.Name, "err", err)
			}
		})
		apps = append(apps, app)
		how := "built-in Go app"
		if app.Kind == "node" {
			how = fmt.Sprintf("node hello.js, pid %d", app.Pid)
		}
		fmt.Fprintf(d.out, "  %-12s %s (%s)\n", app.Name, app.URL(), how)
	}
	return apps, nil
}

// configRepo writes the config repo: a real git repo with three sites (four with the
// passthrough site), their certificates issued by a fresh demo CA, and the private keys in
// a local key directory.
func (d *demoSession) configRepo(apps []*demoApp, passthrough bool) (*demoConfigRepo, error) {
	listen, err := demoResolvePort(d.c.Listen)
	if err != nil {
		return nil, err
	}
	port := listen[strings.LastIndex(listen, ":")+1:]
	data := demoSiteData{App1: apps[0].URL(), App2: apps[1].URL(), PublicBase: "https://" + demoAcmeHost, Revision: 1}
	if port != "443" {
		data.PublicBase += ":" + port
	}
	if passthrough {
		p, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("TLS sample app: %w", err)
		}
		data.TLSApp, data.TLSAppDir = net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), filepath.Join(d.dir, "tls-app")
	}
	names := make([]string, 0, len(demoSites))
	for _, s := range data.sites() {
		names = append(names, s.name)
	}
	repoDir, keyDir, caFile := filepath.Join(d.dir, "config"), filepath.Join(d.dir, "keys"), filepath.Join(d.dir, "ca.pem")
	if err := writeDemoConfig(repoDir, keyDir, caFile, data); err != nil {
		return nil, err
	}
	repo, err := gitsource.InitDemoRepo(repoDir)
	if err != nil {
		return nil, err
	}
	first, err := repo.CommitAll("demo: sites " + strings.Join(names, ", "))
	if err != nil {
		return nil, err
	}
	d.onStop(gitsource.ServeInProcess(repoDir))
	fmt.Fprintf(d.out, "  config repo  %s (git, commit %s: sites %s)\n", repoDir, first[:7], strings.Join(names, ", "))
	fmt.Fprintf(d.out, "  keys         %s (one key per site, mode 0600)\n", keyDir)
	fmt.Fprintf(d.out, "  demo CA      %s (trust it with curl --cacert)\n", caFile)
	fmt.Fprintf(d.out, "  state dir    %s (the accepted commit, served first after a restart)\n", filepath.Join(d.dir, "state"))
	return &demoConfigRepo{dir: repoDir, repo: repo, data: data, first: first, listen: listen, keyDir: keyDir, caFile: caFile}, nil
}

// startAgent starts the agent in-process (it polls the repo, reads the keys, serves the
// sites) and waits until it serves the first commit.
func (d *demoSession) startAgent(ctx context.Context, cfg *demoConfigRepo) (*agentRun, error) {
	ac := agentConfig{
		Repo: cfg.dir, Ref: "main", Interval: d.c.Interval, Keys: "dir", KeyDir: cfg.keyDir, KeyRefresh: -1,
		StateDir: filepath.Join(d.dir, "state"),
		Listen:   cfg.listen, HTTPListen: d.c.HTTPListen, AdminListen: d.c.AdminListen, AdminAccess: d.c.AdminAccess, Logger: d.log, HTTP3: d.c.HTTP3.options(),
		Eval: d.c.Eval.isolation(),
	}
	if d.c.AccessLog {
		ac.AccessLog = edge.NewAccessLogger(d.out, false)
	}
	agentCtx, stopAgent := context.WithCancel(ctx)
	run, err := startAgent(agentCtx, ac)
	if err != nil {
		stopAgent()
		return nil, err
	}
	d.onStop(func() {
		stopAgent()
		if err := run.Stop(5 * time.Second); err != nil {
			d.log.Warn("drain incomplete", "err", err)
		}
	})
	if err := demoWaitServing(ctx, run, cfg.first, 30*time.Second); err != nil {
		return nil, err
	}
	return run, nil
}

// printReady prints where the edge serves and what to try; it returns the edge's address.
func (d *demoSession) printReady(run *agentRun, cfg *demoConfigRepo) string {
	addr := run.Server.Addr().String()
	admin := ""
	if a := run.Server.AdminAddr(); a != nil {
		admin = a.String()
	}
	fmt.Fprintf(d.out, "\nready: serving commit %s on %s", cfg.first[:7], addr)
	if admin != "" {
		fmt.Fprintf(d.out, " (admin %s)", admin)
	}
	fmt.Fprintln(d.out)
	printDemoTry(d.out, addr, admin, cfg.caFile)
	if cfg.data.TLSApp != "" {
		printDemoPassthrough(d.out, addr, cfg)
	}
	printDemoAdminAccess(d.out, d.c.AdminAccess)
	return addr
}

// liveChange sets acme's X-Demo-Revision header to 2 and commits; the agent serves it at
// its next poll, without a restart.
func (d *demoSession) liveChange(ctx context.Context, run *agentRun, cfg *demoConfigRepo, addr string) error {
	out, repo, data := d.out, cfg.repo, cfg.data
	data.Revision = 2
	rel, err := writeDemoSite(repo.Dir, "acme", data)
	if err != nil {
		return err
	}
	start := time.Now()
	commit, err := repo.CommitAll("acme: X-Demo-Revision: 2")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nlive change: edited %s (response header X-Demo-Revision: 1 -> 2) and committed %s;\n", rel, commit[:7])
	fmt.Fprintf(out, "  the agent polls the repo every %s and swaps the new config in without a restart...\n", d.c.Interval)
	if err := demoWaitServing(ctx, run, commit, 30*time.Second); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fmt.Fprintf(out, "live change applied: serving commit %s after %s. See the new header:\n", commit[:7], time.Since(start).Round(10*time.Millisecond))
	fmt.Fprintf(out, "  %s -o /dev/null -D - https://%s:%s/ | grep -i x-demo\n", demoCurl(cfg.caFile, demoAcmeHost, addr), demoAcmeHost, demoPort(addr))
	fmt.Fprintf(out, "\nEdit %s yourself, commit (git commit -am ...), and watch it change. Ctrl-C stops the demo.\n", repo.Dir)
	return nil
}

// printDemoTry prints the commands that show what the edge does.
func printDemoTry(out io.Writer, addr, admin, caFile string) {
	p := demoPort(addr)
	fmt.Fprintf(out, "\nTry it from another terminal:\n\n")
	fmt.Fprintf(out, "  # two domains on one port, each with its own certificate, over HTTP/2\n")
	fmt.Fprintf(out, "  %s -w '(HTTP/%%{http_version})\\n' https://%s:%s/\n", demoCurl(caFile, demoAcmeHost, addr), demoAcmeHost, p)
	fmt.Fprintf(out, "  %s -w '(HTTP/%%{http_version})\\n' https://%s:%s/\n", demoCurl(caFile, demoShopHost, addr), demoShopHost, p)
	fmt.Fprintf(out, "\n  # a Host the connection's certificate does not cover: 421 Misdirected Request\n")
	fmt.Fprintf(out, "  %s -o /dev/null -w '%%{http_code}\\n' -H 'Host: %s' https://%s:%s/\n", demoCurl(caFile, demoAcmeHost, addr), demoMisdirectedHost, demoAcmeHost, p)
	fmt.Fprintf(out, "\n  # a rewrite inside the edge: the app is asked for /posts/hello?year=2024\n")
	fmt.Fprintf(out, "  %s https://%s:%s/blog/2024/hello\n", demoCurl(caFile, demoAcmeHost, addr), demoAcmeHost, p)
	fmt.Fprintf(out, "\n  # a retired name that redirects\n")
	fmt.Fprintf(out, "  %s -o /dev/null -w '%%{http_code} %%{redirect_url}\\n' https://%s:%s/old\n", demoCurl(caFile, demoOldHost, addr), demoOldHost, p)
	printDemoStatic(out, addr, caFile)
	if admin != "" {
		self := "edgectl"
		if strings.Contains(os.Args[0], "go-build") {
			self = "go run ./cmd/edgectl"
		}
		fmt.Fprintf(out, "\n  # what the agent is serving, and from which commit\n")
		fmt.Fprintf(out, "  %s status --admin %s\n", self, admin)
		fmt.Fprintf(out, "  curl -s http://%s/status\n", admin)
		fmt.Fprintf(out, "\n  # the same as a web page that refreshes itself: open it in a browser\n")
		fmt.Fprintf(out, "  http://%s/ui/\n", admin)
	}
}

// demoCurl is the curl prefix that reaches host on the edge at addr, trusting the demo CA.
func demoCurl(caFile, host, addr string) string {
	ip, p, _ := net.SplitHostPort(addr)
	if ip == "" || ip == "0.0.0.0" || ip == "::" {
		ip = "127.0.0.1"
	}
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	return fmt.Sprintf("curl -sS --cacert %s --resolve %s:%s:%s", caFile, host, p, ip)
}

func demoPort(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// demoResolvePort replaces port 0 in addr with a free port: the site files (redirects)
// and the printed commands need the real port before the agent binds it.
func demoResolvePort(addr string) (string, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", addr, err)
	}
	if p != "0" {
		return addr, nil
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", addr, err)
	}
	defer ln.Close()
	return net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), nil
}

// demoWorkDir returns the work directory, creating it; created reports whether the demo
// made it (and so may remove it). An existing directory must be empty.
func demoWorkDir(dir string) (path string, created bool, err error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "edge-demo-")
		return d, err == nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", false, err
		}
		return abs, true, nil
	case err != nil:
		return "", false, err
	case len(entries) > 0:
		return "", false, fmt.Errorf("--dir %s is not empty", abs)
	}
	return abs, false, nil
}

// demoWaitServing waits until the agent serves commit, or reports why it does not.
func demoWaitServing(ctx context.Context, run *agentRun, commit string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st := run.Agent.Status()
		if st.Serving.Commit == commit {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			msg := st.LastPoll.Error
			if st.Rejected != nil {
				msg = fmt.Sprintf("commit %s rejected: %v %s", st.Rejected.Commit, st.Rejected.Errors, st.Rejected.Error)
			}
			return fmt.Errorf("the agent did not serve commit %s within %s (last poll %q: %s)", commit[:7], timeout, st.LastPoll.Outcome, msg)
		case <-tick.C:
		}
	}
}
