package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// ClientOptions are the credentials for admin listeners that ask for them (see the agent's
// --admin-token-file, --admin-tls-cert and --admin-client-ca). The zero value sends none and
// trusts the system's certificate authorities.
type ClientOptions struct {
	// TokenFile holds the bearer token sent as "Authorization: Bearer <token>".
	TokenFile string
	// CACert is a PEM file of the authorities that issued the admin listeners'
	// certificates; empty: the system's.
	CACert string
	// Cert and Key are the PEM client certificate and its key, for listeners that require
	// one; both or neither.
	Cert, Key string
}

// maxStatusBytes bounds one status response (10,000 sites are a few megabytes).
const maxStatusBytes = 256 << 20

// Client reads agents' admin endpoints with ClientOptions' credentials. It is safe for
// concurrent use; it never shows the token (not in errors, not in logs).
type Client struct {
	token *tokenFile // nil: none
	tls   *tls.Config

	mu     sync.Mutex
	byName map[string]*http.Transport // by TLS server name
}

// NewClient reads the credentials o names. The token file is read again when it changes.
func NewClient(o ClientOptions) (*Client, error) {
	c := &Client{tls: &tls.Config{MinVersion: tls.VersionTLS12}, byName: map[string]*http.Transport{}}
	if o.TokenFile != "" {
		var err error
		if c.token, err = newTokenFile(o.TokenFile); err != nil {
			return nil, err
		}
	}
	if o.CACert != "" {
		pem, err := os.ReadFile(o.CACert)
		if err != nil {
			return nil, fmt.Errorf("fleet: CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fleet: CA: no PEM certificate in %s", o.CACert)
		}
		c.tls.RootCAs = pool
	}
	if (o.Cert == "") != (o.Key == "") {
		return nil, errors.New("fleet: a client certificate needs both its certificate and its key file")
	}
	if o.Cert != "" {
		pair, err := tls.LoadX509KeyPair(o.Cert, o.Key)
		if err != nil {
			return nil, fmt.Errorf("fleet: client certificate: %w", err)
		}
		c.tls.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// transport returns the transport for TLS server name serverName, one per name so that the
// addresses of a dns: name are verified against that name.
func (c *Client) transport(serverName string) *http.Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tr := c.byName[serverName]; tr != nil {
		return tr
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = c.tls.Clone()
	tr.TLSClientConfig.ServerName = serverName
	tr.MaxIdleConnsPerHost = 2
	c.byName[serverName] = tr
	return tr
}

// CloseIdleConnections closes the connections kept for the next requests.
func (c *Client) CloseIdleConnections() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tr := range c.byName {
		tr.CloseIdleConnections()
	}
}

// Get fetches path (e.g. "/status") from t's admin listener and returns the body of a 200
// response; any other status is an error saying what the listener answered.
func (c *Client) Get(ctx context.Context, t Target, path string) ([]byte, error) {
	if t.Err != nil {
		return nil, t.Err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	if c.token != nil {
		tok, err := c.token.get()
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := (&http.Client{Transport: c.transport(t.ServerName)}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, t.URL+path)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fleet: GET %s: %w", t.URL+path, err)
	}
	if len(body) > maxStatusBytes {
		return nil, fmt.Errorf("fleet: GET %s: response larger than %d bytes", t.URL+path, maxStatusBytes)
	}
	return body, nil
}

// statusError says what a non-200 answer means for the caller.
func (c *Client) statusError(resp *http.Response, url string) error {
	err := fmt.Errorf("fleet: GET %s: %s", url, resp.Status)
	switch {
	case resp.StatusCode == http.StatusUnauthorized && c.token == nil:
		return fmt.Errorf("%w (the admin listener wants a bearer token: --token-file)", err)
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w (the token was refused)", err)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w (a client certificate is needed or was refused: --cert, --key)", err)
	}
	return err
}
