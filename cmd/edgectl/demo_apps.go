package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// helloJS is the demo's Node.js sample app (examples/apps/hello.js is an identical copy).
//
//go:embed demoapp/hello.js
var helloJS []byte

// demoApp is one running sample app.
type demoApp struct {
	Name string
	Addr string // host:port it listens on
	Kind string // "node" or "go"
	Pid  int    // the node process; 0 for the built-in Go app

	stop func(timeout time.Duration) error
}

// URL is the app's address as an upstream URL.
func (a *demoApp) URL() string { return "http://" + a.Addr }

// startDemoApp starts a sample app named name on a free loopback port: hello.js with node
// (kind "node", script at scriptPath) or the built-in Go app (kind "go").
func startDemoApp(ctx context.Context, kind, name, scriptPath string, logw io.Writer) (*demoApp, error) {
	switch kind {
	case "go":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("sample app %s: %w", name, err)
		}
		srv := &http.Server{Handler: helloHandler(name, ln.Addr().(*net.TCPAddr).Port), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln) //nolint:errcheck // returns on Shutdown
		return &demoApp{Name: name, Addr: ln.Addr().String(), Kind: kind, stop: func(timeout time.Duration) error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				return srv.Close()
			}
			return nil
		}}, nil
	case "node":
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("sample app %s: %w", name, err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cmd := exec.Command("node", scriptPath)
		cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "HOST=127.0.0.1", "APP_NAME="+name)
		cmd.Stdout, cmd.Stderr = io.Discard, logw // its "listening" line would repeat ours
		setProcessGroup(cmd)
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("sample app %s: node: %w", name, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // the exit is observed via exited
		app := &demoApp{Name: name, Addr: addr, Kind: kind, Pid: cmd.Process.Pid, stop: func(timeout time.Duration) error {
			return stopProcessGroup(cmd.Process.Pid, exited, timeout)
		}}
		if err := waitListening(ctx, addr, exited, 10*time.Second); err != nil {
			app.stop(time.Second) //nolint:errcheck // already failing
			return nil, fmt.Errorf("sample app %s: %w", name, err)
		}
		return app, nil
	}
	return nil, fmt.Errorf("--app %q: want auto, node or go", kind)
}

// writeHelloJS writes the embedded hello.js into dir and returns its path.
func writeHelloJS(dir string) (string, error) {
	p := filepath.Join(dir, "hello.js")
	if err := os.WriteFile(p, helloJS, 0o644); err != nil {
		return "", fmt.Errorf("sample app: %w", err)
	}
	return p, nil
}

// helloHandler is the built-in Go twin of hello.js.
func helloHandler(name string, port int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lines := []string{
			fmt.Sprintf("hello from %s (go, port %d)", name, port),
			fmt.Sprintf("you asked for %s %s%s", r.Method, r.Host, r.URL.RequestURI()),
		}
		for _, h := range []string{"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"} {
			if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
				lines = append(lines, h+": "+strings.Join(v, ", "))
			}
		}
		body := strings.Join(lines, "\n") + "\n"
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("X-Powered-By", "hello.go")
		io.WriteString(w, body) //nolint:errcheck // client gone
	})
}

// freePort asks the kernel for a free loopback port. Another process could take it before
// the app binds it; the app then fails to start and the demo says so.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until addr accepts TCP connections, the process exits or timeout.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before listening on " + addr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s", addr, timeout)
		}
	}
}
