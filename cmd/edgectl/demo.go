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
}

func runDemoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := flag.NewFlagSet("demo", flag.ContinueOnError)
	f.SetOutput(stderr)
	var c demoConfig
	f.StringVar(&c.Dir, "dir", "", "work directory (must not exist or be empty); default: a new temp directory")
	f.BoolVar(&c.Keep, "keep", false, "keep the work directory on exit")
	f.StringVar(&c.Listen, "listen", "127.0.0.1:8443", "HTTPS listen address (port 0: pick a free port)")
	f.StringVar(&c.HTTPListen, "http-listen", "127.0.0.1:8080", "plain-HTTP (redirect) listen address, or off")
	f.StringVar(&c.AdminListen, "admin", "127.0.0.1:9443", "admin listen address (/status /metrics /healthz), or off")
	f.StringVar(&c.App, "app", "auto", "sample apps: node (examples/apps/hello.js), go (built in) or auto (node if on PATH)")
	f.DurationVar(&c.ChangeAfter, "change-after", 5*time.Second, "commit a live change to the config repo after this long; 0 disables")
	f.DurationVar(&c.Interval, "interval", time.Second, "how often the agent polls the config repo")
	f.BoolVar(&c.Verbose, "v", false, "log what the agent does")
	f.BoolVar(&c.AccessLog, "access-log", false, "log every request the edge serves")
	c.Eval.add(f, "", "")
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

// runDemo runs the demo until ctx is done, then stops everything it started.
func runDemo(ctx context.Context, c demoConfig, out, errw io.Writer) (err error) {
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: level}))

	// Everything started is stopped in reverse order, whatever happens.
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	dir, created, err := demoWorkDir(c.Dir)
	if err != nil {
		return err
	}
	if !c.Keep && created {
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	}
	keepNote := "removed on exit; --keep keeps it"
	if c.Keep || !created {
		keepNote = "kept on exit"
	}
	fmt.Fprintf(out, "edge demo: a GitOps TLS edge running on this machine\n\n")
	fmt.Fprintf(out, "  work dir     %s (%s)\n", dir, keepNote)

	// 1. Two sample apps on free loopback ports.
	kind := c.App
	if kind == "auto" {
		kind = "go"
		if _, err := exec.LookPath("node"); err == nil {
			kind = "node"
		}
	}
	var script string
	if kind == "node" {
		if script, err = writeHelloJS(dir); err != nil {
			return err
		}
	}
	var apps []*demoApp
	for _, name := range []string{"app-1", "app-2"} {
		app, err := startDemoApp(ctx, kind, name, script, errw)
		if err != nil {
			return err
		}
		cleanups = append(cleanups, func() {
			if err := app.stop(5 * time.Second); err != nil {
				log.Warn("sample app did not stop", "app", app.Name, "err", err)
			}
		})
		apps = append(apps, app)
		how := "built-in Go app"
		if app.Kind == "node" {
			how = fmt.Sprintf("node hello.js, pid %d", app.Pid)
		}
		fmt.Fprintf(out, "  %-12s %s (%s)\n", app.Name, app.URL(), how)
	}

	// 2. The config repo: a real git repo with three sites, their certificates issued by a
	// fresh demo CA, and the private keys in a local key directory.
	listen, err := demoResolvePort(c.Listen)
	if err != nil {
		return err
	}
	port := listen[strings.LastIndex(listen, ":")+1:]
	data := demoSiteData{App1: apps[0].URL(), App2: apps[1].URL(), PublicBase: "https://" + demoAcmeHost, Revision: 1}
	if port != "443" {
		data.PublicBase += ":" + port
	}
	repoDir, keyDir, caFile := filepath.Join(dir, "config"), filepath.Join(dir, "keys"), filepath.Join(dir, "ca.pem")
	if err := writeDemoConfig(repoDir, keyDir, caFile, data); err != nil {
		return err
	}
	repo, err := gitsource.InitDemoRepo(repoDir)
	if err != nil {
		return err
	}
	first, err := repo.CommitAll("demo: sites acme, shops and old-acme")
	if err != nil {
		return err
	}
	cleanups = append(cleanups, gitsource.ServeInProcess(repoDir))
	fmt.Fprintf(out, "  config repo  %s (git, commit %s: sites acme, shops, old-acme)\n", repoDir, first[:7])
	fmt.Fprintf(out, "  keys         %s (one key per site, mode 0600)\n", keyDir)
	fmt.Fprintf(out, "  demo CA      %s (trust it with curl --cacert)\n", caFile)
	fmt.Fprintf(out, "  state dir    %s (the accepted commit, served first after a restart)\n", filepath.Join(dir, "state"))

	// 3. The agent, in-process: polls the repo, reads the keys, serves the sites.
	ac := agentConfig{
		Repo: repoDir, Ref: "main", Interval: c.Interval, Keys: "dir", KeyDir: keyDir, KeyRefresh: -1,
		StateDir: filepath.Join(dir, "state"),
		Listen:   listen, HTTPListen: c.HTTPListen, AdminListen: c.AdminListen, Logger: log,
		Eval: c.Eval.isolation(),
	}
	if c.AccessLog {
		ac.AccessLog = edge.NewAccessLogger(out, false)
	}
	agentCtx, stopAgent := context.WithCancel(ctx)
	run, err := startAgent(agentCtx, ac)
	if err != nil {
		stopAgent()
		return err
	}
	cleanups = append(cleanups, func() {
		stopAgent()
		if err := run.Stop(5 * time.Second); err != nil {
			log.Warn("drain incomplete", "err", err)
		}
	})
	if err := demoWaitServing(ctx, run, first, 30*time.Second); err != nil {
		return err
	}

	addr := run.Server.Addr().String()
	admin := ""
	if a := run.Server.AdminAddr(); a != nil {
		admin = a.String()
	}
	fmt.Fprintf(out, "\nready: serving commit %s on %s", first[:7], addr)
	if admin != "" {
		fmt.Fprintf(out, " (admin %s)", admin)
	}
	fmt.Fprintln(out)
	printDemoTry(out, addr, admin, caFile)

	// 4. A live change: edit a site, commit, watch the agent pick it up without a restart.
	if c.ChangeAfter > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(c.ChangeAfter):
			if err := demoLiveChange(ctx, out, run, repo, data, addr, caFile, c.Interval); err != nil {
				return err
			}
		}
	}
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping: draining connections, stopping the sample apps")
	return nil
}

// demoLiveChange sets acme's X-Demo-Revision header to 2 and commits; the agent serves it
// at its next poll.
func demoLiveChange(ctx context.Context, out io.Writer, run *agentRun, repo *gitsource.DemoRepo, data demoSiteData, addr, caFile string, interval time.Duration) error {
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
	fmt.Fprintf(out, "  the agent polls the repo every %s and swaps the new config in without a restart...\n", interval)
	if err := demoWaitServing(ctx, run, commit, 30*time.Second); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fmt.Fprintf(out, "live change applied: serving commit %s after %s. See the new header:\n", commit[:7], time.Since(start).Round(10*time.Millisecond))
	fmt.Fprintf(out, "  %s -o /dev/null -D - https://%s:%s/ | grep -i x-demo\n", demoCurl(caFile, demoAcmeHost, addr), demoAcmeHost, demoPort(addr))
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
	fmt.Fprintf(out, "\n  # a retired name that redirects\n")
	fmt.Fprintf(out, "  %s -o /dev/null -w '%%{http_code} %%{redirect_url}\\n' https://%s:%s/old\n", demoCurl(caFile, demoOldHost, addr), demoOldHost, p)
	if admin != "" {
		self := "edgectl"
		if strings.Contains(os.Args[0], "go-build") {
			self = "go run ./cmd/edgectl"
		}
		fmt.Fprintf(out, "\n  # what the agent is serving, and from which commit\n")
		fmt.Fprintf(out, "  %s status --admin %s\n", self, admin)
		fmt.Fprintf(out, "  curl -s http://%s/status\n", admin)
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
