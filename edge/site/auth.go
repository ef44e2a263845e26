package site

import (
	"crypto/x509"
	"net/http"
	"net/url"
	"time"
)

// BasicAuth asks a route's clients for a user name and password (RFC 7617) and lets a
// request through only when they match one of the users of a Vault secret. The password
// hashes live in Vault only: the declaration names the secret, the agent reads it.
type BasicAuth struct {
	// Realm is sent in the WWW-Authenticate challenge. Empty means DefaultRealm.
	Realm string
	// Users is the Vault KV v2 secret whose fields are user name -> password hash (bcrypt
	// "$2a$/$2b$/$2y$" or argon2id PHC "$argon2id$v=19$m=...,t=...,p=...$salt$hash").
	Users SecretRef
}

// DefaultRealm is the realm of a BasicAuth that sets none.
const DefaultRealm = "restricted"

// WithDefaults returns b with Realm set if it was empty.
func (b BasicAuth) WithDefaults() BasicAuth {
	if b.Realm == "" {
		b.Realm = DefaultRealm
	}
	return b
}

// SecretRef names a Vault KV v2 secret as a whole (all of its fields).
type SecretRef struct {
	// Mount is the KV v2 mount, e.g. "secret".
	Mount string
	// Path is the secret's path below the mount, e.g. "edge/auth/admin".
	Path string
}

// String is "mount/path", for messages.
func (r SecretRef) String() string { return r.Mount + "/" + r.Path }

// ForwardAuth asks an auth service about every request of a route before it is proxied
// (Traefik's ForwardAuth, nginx's auth_request): a GET to URL carrying the request's method,
// URI, host, scheme and client address in X-Forwarded-* headers and the RequestHeaders.
// A 2xx answer lets the request through with the ResponseHeaders of the answer copied onto
// it; any other answer is sent to the client as it is (status, body, and the headers
// WWW-Authenticate, Location, Set-Cookie, Content-Type); no answer in time, or an error,
// denies with 503.
type ForwardAuth struct {
	// URL is the auth service's endpoint, http or https. Required.
	URL *url.URL
	// RequestHeaders are the client's request headers sent along (canonical form). Nil
	// means DefaultForwardAuthRequestHeaders.
	RequestHeaders []string
	// ResponseHeaders are the headers of a 2xx answer copied onto the upstream request
	// (canonical form). Client-sent headers of these names are always removed first, so a
	// client cannot forge them. Empty means none.
	ResponseHeaders []string
	// Timeout bounds the subrequest, answer body included. Zero means
	// DefaultForwardAuthTimeout.
	Timeout time.Duration
}

// DefaultForwardAuthTimeout is the Timeout of a ForwardAuth that sets none.
const DefaultForwardAuthTimeout = 5 * time.Second

// DefaultForwardAuthRequestHeaders are the client headers a ForwardAuth sends along when it
// names none: what identifies a user.
var DefaultForwardAuthRequestHeaders = []string{"Authorization", "Cookie"}

// WithDefaults returns f with its zero values replaced by their defaults.
func (f ForwardAuth) WithDefaults() ForwardAuth {
	if f.Timeout == 0 {
		f.Timeout = DefaultForwardAuthTimeout
	}
	if f.RequestHeaders == nil {
		f.RequestHeaders = DefaultForwardAuthRequestHeaders
	}
	f.RequestHeaders = canonical(f.RequestHeaders)
	f.ResponseHeaders = canonical(f.ResponseHeaders)
	return f
}

func canonical(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = http.CanonicalHeaderKey(n)
	}
	return out
}

// ClientAuth makes a site ask TLS clients for a certificate (mTLS), verified against CAs
// in the handshake of that site only. The verified certificate's subject and SHA-256
// fingerprint reach the app in the headers ClientCertSubjectHeader and
// ClientCertFingerprintHeader; client-sent headers of those names are always removed.
type ClientAuth struct {
	// CAFile is the repo path of the PEM bundle of CAs, for messages.
	CAFile string
	// CAs are the parsed CA certificates of the bundle. At least one. Shared: never change
	// them.
	CAs []*x509.Certificate
	// Mode says whether a certificate is required. The zero value means
	// ClientCertRequire.
	Mode ClientCertMode
}

// ClientCertMode says whether a site requires a client certificate.
type ClientCertMode string

// Client certificate modes.
const (
	// ClientCertRequire refuses handshakes without a valid client certificate.
	ClientCertRequire ClientCertMode = "require"
	// ClientCertOptional accepts handshakes without a certificate; one that is sent must
	// be valid.
	ClientCertOptional ClientCertMode = "optional"
)

// Headers carrying the verified client certificate to the app.
const (
	ClientCertSubjectHeader     = "X-Client-Cert-Subject"
	ClientCertFingerprintHeader = "X-Client-Cert-Fingerprint"
)

// WithDefaults returns c with Mode set if it was empty.
func (c ClientAuth) WithDefaults() ClientAuth {
	if c.Mode == "" {
		c.Mode = ClientCertRequire
	}
	return c
}
