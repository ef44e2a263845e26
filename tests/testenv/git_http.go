package testenv

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitHTTPOptions configure StartGitHTTP. The zero value serves without authentication.
type GitHTTPOptions struct {
	// User and Password, when User is not empty, are required as HTTP basic auth on every
	// request; others get 401 with a WWW-Authenticate challenge.
	User, Password string
}

// GitRequest is one request a GitHTTP server received.
type GitRequest struct {
	// Method and Path of the request, and its raw query (e.g. "service=git-upload-pack").
	Method, Path, Query string
	// Status is the HTTP status answered.
	Status int
	// Bytes is the size of the response body.
	Bytes int64
	// Took is how long the server spent on the request, from its arrival until the handler
	// returned (the whole reply written).
	Took time.Duration
}

// String formats the request as "GET /config.git/info/refs?service=git-upload-pack 200".
func (r GitRequest) String() string {
	s := r.Method + " " + r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	return s + " " + http.StatusText(r.Status)
}

// GitHTTP is a real smart-HTTP git server: `git http-backend` run as CGI by net/http on a
// loopback port, exporting one repository read-only, counting every request it receives.
// Start one with StartGitHTTP; it stops when the test ends. Its methods are safe for
// concurrent use.
type GitHTTP struct {
	// URL is the repository's clone URL, e.g. "http://127.0.0.1:40123/config.git".
	URL string
	// Addr is the listening address, "127.0.0.1:port"; Restart listens on it again.
	Addr string

	t       testing.TB
	handler http.Handler
	opts    GitHTTPOptions

	stderr SyncBuffer

	mu   sync.Mutex
	reqs []GitRequest
	srv  *http.Server
}

// StartGitHTTP serves the bare repository repoDir (for a GitRepo: r.Bare) over smart HTTP on
// a free loopback port. opts may be nil. The server stops on t.Cleanup. Needs the git CLI
// (Debian package git), which provides git-http-backend.
func StartGitHTTP(t testing.TB, repoDir string, opts *GitHTTPOptions) *GitHTTP {
	t.Helper()
	GitBinary(t)
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("testenv: git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("testenv: git-http-backend: %v", err)
	}
	abs, err := filepath.Abs(repoDir)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	g := &GitHTTP{t: t}
	if opts != nil {
		g.opts = *opts
	}
	g.handler = &cgi.Handler{
		Path: backend,
		Dir:  filepath.Dir(abs),
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(abs),
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + os.DevNull,
			"HOME=" + t.TempDir(),
		},
		Stderr: &g.stderr,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: listen: %v", err)
	}
	g.Addr = ln.Addr().String()
	g.URL = "http://" + g.Addr + "/" + filepath.Base(abs)
	g.serve(ln)
	t.Cleanup(func() {
		g.Stop()
		if s := g.stderr.String(); s != "" {
			t.Logf("testenv: git http-backend stderr:\n%s", s)
		}
	})
	return g
}

func (g *GitHTTP) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(g.serveHTTP)}
	g.mu.Lock()
	g.srv = srv
	g.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.t.Logf("testenv: git http server: %v", err)
		}
	}()
}

func (g *GitHTTP) serveHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		g.mu.Lock()
		g.reqs = append(g.reqs, GitRequest{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Status: rec.status, Bytes: rec.bytes, Took: time.Since(start)})
		g.mu.Unlock()
	}()
	if g.opts.User != "" {
		u, p, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(g.opts.User)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(g.opts.Password)) != 1 {
			rec.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(rec, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	g.handler.ServeHTTP(rec, req)
}

// Requests returns the requests received so far (since the last Reset), oldest first.
func (g *GitHTTP) Requests() []GitRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GitRequest(nil), g.reqs...)
}

// Count returns how many requests were received so far (since the last Reset).
func (g *GitHTTP) Count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reqs)
}

// Reset forgets the requests received so far.
func (g *GitHTTP) Reset() {
	g.mu.Lock()
	g.reqs = nil
	g.mu.Unlock()
}

// Stop closes the listener and every connection: clients then get "connection refused".
// Stopping a stopped server does nothing.
func (g *GitHTTP) Stop() {
	g.mu.Lock()
	srv := g.srv
	g.srv = nil
	g.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart listens again on the same address after Stop (failing the test if the port was
// taken meanwhile). Restarting a running server does nothing.
func (g *GitHTTP) Restart() {
	g.t.Helper()
	g.mu.Lock()
	running := g.srv != nil
	g.mu.Unlock()
	if running {
		return
	}
	ln, err := net.Listen("tcp", g.Addr)
	if err != nil {
		g.t.Fatalf("testenv: listen again on %s: %v", g.Addr, err)
	}
	g.serve(ln)
}

// statusRecorder remembers the status and counts the body bytes written.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
