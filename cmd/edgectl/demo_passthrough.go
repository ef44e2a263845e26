package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"
)

// startTLSApp starts the passthrough site's TLS sample app, when cfg declares the site,
// with the certificate and key the demo CA issued for it.
func (d *demoSession) startTLSApp(ctx context.Context, cfg *demoConfigRepo) error {
	if cfg.data.TLSApp == "" {
		return nil
	}
	a := demoTLSApp{Name: "tls-app", Addr: cfg.data.TLSApp,
		CertFile: filepath.Join(cfg.data.TLSAppDir, "cert.pem"), KeyFile: filepath.Join(cfg.data.TLSAppDir, "key.pem")}
	app, err := startDemoTLSApp(ctx, d.appKind(), d.dir, a, d.errw)
	if err != nil {
		return err
	}
	d.onStop(func() {
		if err := app.stop(5 * time.Second); err != nil {
			d.log.Warn("sample app did not stop", "app", app.Name, "err", err)
		}
	})
	how := "built-in Go app"
	if app.Kind == "node" {
		how = fmt.Sprintf("node hello-tls.js, pid %d", app.Pid)
	}
	fmt.Fprintf(d.out, "  %-12s %s (%s; TLS with its own certificate, %s)\n", app.Name, app.Addr, how, cfg.data.TLSAppDir)
	return nil
}

// printDemoPassthrough prints the commands that show the passthrough site: the app, not
// the edge, terminates TLS, and the certificate served is the app's own.
func printDemoPassthrough(out io.Writer, addr string, cfg *demoConfigRepo) {
	p := demoPort(addr)
	ip, _, _ := net.SplitHostPort(addr)
	if ip == "" || ip == "0.0.0.0" || ip == "::" {
		ip = "127.0.0.1"
	}
	appCert := filepath.Join(cfg.data.TLSAppDir, "cert.pem")
	fmt.Fprintf(out, "\n  # a passthrough site: the edge routes by SNI and the app terminates TLS itself\n")
	fmt.Fprintf(out, "  %s https://%s:%s/\n", demoCurl(cfg.caFile, demoSecureHost, addr), demoSecureHost, p)
	fmt.Fprintf(out, "  # the certificate served is the app's own (%s), which the edge never holds:\n", appCert)
	fmt.Fprintf(out, "  openssl s_client -connect %s -servername %s </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256\n",
		net.JoinHostPort(ip, p), demoSecureHost)
	fmt.Fprintf(out, "  openssl x509 -in %s -noout -fingerprint -sha256\n", appCert)
}
