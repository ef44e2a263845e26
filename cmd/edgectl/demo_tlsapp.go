package main

import (
	"context"
	"crypto/tls"
	_ "embed"
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

// helloTLSJS is the demo's Node.js sample app that terminates TLS itself
// (examples/apps/hello-tls.js is a symlink to it).
//
//go:embed demoapp/hello-tls.js
var helloTLSJS []byte

// demoTLSApp says how to start the sample app of the passthrough site: its name, the
// address it listens on, and the PEM files of its own certificate and key.
type demoTLSApp struct {
	Name, Addr        string
	CertFile, KeyFile string
}

// startDemoTLSApp starts the TLS sample app a: hello-tls.js with node (kind "node", the
// script written into dir) or the built-in Go app serving TLS (kind "go").
func startDemoTLSApp(ctx context.Context, kind, dir string, a demoTLSApp, logw io.Writer) (*demoApp, error) {
	switch kind {
	case "go":
		cert, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("sample app %s: %w", a.Name, err)
		}
		ln, err := net.Listen("tcp", a.Addr)
		if err != nil {
			return nil, fmt.Errorf("sample app %s: %w", a.Name, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		srv := &http.Server{Handler: helloTLSHandler(a.Name, port), ReadHeaderTimeout: 10 * time.Second,
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
		go srv.ServeTLS(ln, "", "") //nolint:errcheck // returns on Shutdown
		return &demoApp{Name: a.Name, Addr: ln.Addr().String(), Kind: kind, stop: func(timeout time.Duration) error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				return srv.Close()
			}
			return nil
		}}, nil
	case "node":
		script := filepath.Join(dir, "hello-tls.js")
		if err := os.WriteFile(script, helloTLSJS, 0o644); err != nil {
			return nil, fmt.Errorf("sample app %s: %w", a.Name, err)
		}
		host, port, err := net.SplitHostPort(a.Addr)
		if err != nil {
			return nil, fmt.Errorf("sample app %s: %w", a.Name, err)
		}
		cmd := exec.Command("node", script)
		cmd.Env = append(os.Environ(), "PORT="+port, "HOST="+host, "APP_NAME="+a.Name, "TLS_CERT="+a.CertFile, "TLS_KEY="+a.KeyFile)
		return startNodeApp(ctx, cmd, a.Name, a.Addr, logw)
	}
	return nil, fmt.Errorf("--app %q: want auto, node or go", kind)
}

// startNodeApp starts cmd (a node sample app named name) in its own process group and
// waits until it listens on addr.
func startNodeApp(ctx context.Context, cmd *exec.Cmd, name, addr string, logw io.Writer) (*demoApp, error) {
	cmd.Stdout, cmd.Stderr = io.Discard, logw
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sample app %s: node: %w", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // the exit is observed via exited
	app := &demoApp{Name: name, Addr: addr, Kind: "node", Pid: cmd.Process.Pid, stop: func(timeout time.Duration) error {
		return stopProcessGroup(cmd.Process.Pid, exited, timeout)
	}}
	if err := waitListening(ctx, addr, exited, 10*time.Second); err != nil {
		app.stop(time.Second) //nolint:errcheck // already failing
		return nil, fmt.Errorf("sample app %s: %w", name, err)
	}
	return app, nil
}

// helloTLSHandler is the built-in Go twin of hello-tls.js (without PROXY protocol).
func helloTLSHandler(name string, port int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sni := "none"
		if r.TLS != nil && r.TLS.ServerName != "" {
			sni = r.TLS.ServerName
		}
		lines := []string{
			fmt.Sprintf("hello from %s (go, port %d, TLS terminated by the app)", name, port),
			fmt.Sprintf("you asked for %s %s%s (SNI %s)", r.Method, r.Host, r.URL.RequestURI(), sni),
		}
		body := strings.Join(lines, "\n") + "\n"
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body) //nolint:errcheck // client gone
	})
}
