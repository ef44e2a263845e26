package edge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
)

// adminTLSConfig returns the admin listener's TLS configuration: a's certificate, kept
// fresh by adminCert, and with a.ClientCA, client certificates verified against it.
func adminTLSConfig(a *AdminAccess, log *slog.Logger) (*tls.Config, error) {
	cert := &adminCert{certFile: a.TLSCert, keyFile: a.TLSKey, log: log}
	if err := cert.load(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cert.get}
	if a.ClientCA != "" {
		pem, err := os.ReadFile(a.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("edge: admin client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("edge: admin client CA %s holds no PEM certificate", a.ClientCA)
		}
		cfg.ClientCAs = pool
		// Verified when given; its absence is refused per request (403) so that probes
		// without one still reach /healthz and /readyz.
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// adminCert is the admin listener's certificate, loaded again at the next handshake after
// its certificate or key file changed (size, modification time or inode). A pair that does
// not load (e.g. halfway through a rotation) leaves the previous one serving.
type adminCert struct {
	certFile, keyFile string
	log               *slog.Logger

	mu           sync.Mutex
	cert         *tls.Certificate
	certInfo     fs.FileInfo
	keyInfo      fs.FileInfo
	failedReload bool // the files changed and did not load; logged once
}

// load reads the pair and remembers the files' stats; errors name the files only.
func (c *adminCert) load() error {
	ci, err1 := os.Stat(c.certFile)
	ki, err2 := os.Stat(c.keyFile)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("edge: admin TLS: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("edge: admin TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.certInfo, c.keyInfo = &pair, ci, ki
	return nil
}

// get implements tls.Config.GetCertificate.
func (c *adminCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	ci, err1 := os.Stat(c.certFile)
	ki, err2 := os.Stat(c.keyFile)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err1 != nil || err2 != nil || (sameContent(ci, c.certInfo) && sameContent(ki, c.keyInfo)) {
		return c.cert, nil
	}
	if err := c.load(); err != nil { // c.cert unchanged
		if !c.failedReload {
			c.log.Warn("admin TLS certificate changed but does not load: serving the previous one", "err", err)
		}
		c.failedReload = true
		return c.cert, nil
	}
	c.failedReload = false
	c.log.Info("admin TLS certificate reloaded", "cert", c.certFile)
	return c.cert, nil
}
