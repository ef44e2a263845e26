package issue

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// vaultPKI is an Issuer backed by Vault's PKI secrets engine: it sends a CSR made with the
// request's key to <mount>/sign/<role>, so the private key never leaves the agent.
type vaultPKI struct {
	do                func(context.Context, func(*vaultapi.Client) error) error
	name, mount, role string
	ttl               time.Duration
}

// VaultPKIOption refines NewVaultPKI.
type VaultPKIOption func(*vaultPKI)

// VaultPKITTL asks for certificates living ttl (Vault caps it at the role's max_ttl);
// zero: the role's ttl.
func VaultPKITTL(ttl time.Duration) VaultPKIOption {
	return func(v *vaultPKI) { v.ttl = ttl }
}

// VaultPKIDo sends the sign requests through do, e.g. keysource.Vault's Do (its login,
// token renewal and bounded retries), instead of NewVaultPKI's client, which may be nil.
func VaultPKIDo(do func(ctx context.Context, op func(*vaultapi.Client) error) error) VaultPKIOption {
	return func(v *vaultPKI) { v.do = do }
}

// NewVaultPKI returns an Issuer named name that signs certificates with the role role of
// the PKI secrets engine mounted at mount (e.g. "pki"), through client: it POSTs a CSR
// made from Request.Key to <mount>/sign/<role>, so the key never leaves the agent. The
// certificate's lifetime is the role's (ttl, max_ttl) unless VaultPKITTL asks for less;
// RenewAfter is two thirds of it. The token needs `update` on <mount>/sign/<role> and
// nothing else (examples/vault/edge-pki-policy.hcl).
func NewVaultPKI(client *vaultapi.Client, name, mount, role string, opts ...VaultPKIOption) Issuer {
	v := &vaultPKI{name: name, mount: strings.Trim(mount, "/"), role: role,
		do: func(_ context.Context, op func(*vaultapi.Client) error) error { return op(client) }}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Name is the issuer's declared name.
func (v *vaultPKI) Name() string { return v.name }

// Issue asks Vault to sign a CSR for req.Names made with req.Key.
func (v *vaultPKI) Issue(ctx context.Context, req Request) (*Issued, error) {
	if len(req.Names) == 0 {
		return nil, fmt.Errorf("issuer %s: no names to certify", v.name)
	}
	if req.Key == nil {
		return nil, fmt.Errorf("issuer %s: %s: no key", v.name, req.Names[0])
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: req.Names[0]}, DNSNames: req.Names,
	}, req.Key)
	if err != nil {
		return nil, fmt.Errorf("issuer %s: %s: make CSR: %w", v.name, req.Names[0], err)
	}
	path := v.mount + "/sign/" + v.role
	body := map[string]any{
		"csr":         string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})),
		"common_name": req.Names[0],
		"alt_names":   strings.Join(req.Names[1:], ","),
		"format":      "pem",
	}
	if v.ttl > 0 {
		body["ttl"] = strconv.FormatInt(int64(v.ttl/time.Second), 10) + "s"
	}
	var s *vaultapi.Secret
	err = v.do(ctx, func(c *vaultapi.Client) (err error) {
		s, err = c.Logical().WriteWithContext(ctx, path, body)
		return err
	})
	if err != nil {
		return nil, v.refusal(path, req.Names[0], err)
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("issuer %s: %s: vault %s answered nothing", v.name, req.Names[0], path)
	}
	return v.issued(s.Data, req.Names[0])
}

// refusal wraps Vault's answer to a sign request: a 429 (rate limited) or 503 (sealed,
// standby) becomes a *RetryAfterError a minute out.
func (v *vaultPKI) refusal(path, name string, err error) error {
	var re *vaultapi.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("issuer %s: %s: vault %s: %w", v.name, name, path, err)
	}
	err = fmt.Errorf("issuer %s: %s: vault %s: %w", v.name, name, path, &oneLine{re})
	if re.StatusCode == http.StatusTooManyRequests || re.StatusCode == http.StatusServiceUnavailable {
		return &RetryAfterError{After: time.Now().Add(time.Minute), Err: err}
	}
	return err
}

// oneLine shortens the Vault client's multi-line response error to its status and
// messages, keeping it in the chain.
type oneLine struct{ err *vaultapi.ResponseError }

func (e *oneLine) Error() string {
	msg := "status " + strconv.Itoa(e.err.StatusCode)
	for _, s := range e.err.Errors { // "1 error occurred:\n\t* permission denied\n\n"
		s = strings.TrimPrefix(strings.Join(strings.Fields(s), " "), "1 error occurred: ")
		msg += ": " + strings.TrimPrefix(s, "* ")
	}
	return msg
}

func (e *oneLine) Unwrap() error { return e.err }

// issued builds the result from the sign response's fields: certificate, ca_chain (or
// issuing_ca).
func (v *vaultPKI) issued(data map[string]any, name string) (*Issued, error) {
	leafPEM, _ := data["certificate"].(string)
	block, _ := pem.Decode([]byte(leafPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("issuer %s: %s: vault answered no PEM certificate", v.name, name)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("issuer %s: %s: vault's certificate: %w", v.name, name, err)
	}
	chain := strings.TrimSpace(leafPEM) + "\n"
	var cas []string
	if list, ok := data["ca_chain"].([]any); ok {
		for _, c := range list {
			if s, ok := c.(string); ok {
				cas = append(cas, s)
			}
		}
	}
	if len(cas) == 0 {
		if s, ok := data["issuing_ca"].(string); ok {
			cas = append(cas, s)
		}
	}
	for _, c := range cas {
		if c = strings.TrimSpace(c); c != "" {
			chain += c + "\n"
		}
	}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return &Issued{
		ChainPEM:   []byte(chain),
		NotBefore:  leaf.NotBefore,
		NotAfter:   leaf.NotAfter,
		RenewAfter: leaf.NotBefore.Add(life * 2 / 3),
	}, nil
}
