package keysource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgectl/edge/schema"
)

// VaultConfig configures Vault. Authentication is, in order of precedence: AppRole when
// AppRole.RoleID is set, else TokenFile, else Token, else $VAULT_TOKEN.
type VaultConfig struct {
	// Address is Vault's URL, e.g. "https://vault.internal:8200". Empty: $VAULT_ADDR, else
	// the Vault client's default (https://127.0.0.1:8200).
	Address string
	// CACert is a PEM file of the CAs that sign Vault's TLS certificate. Empty: $VAULT_CACERT,
	// else the system roots.
	CACert string

	// Token is a static token. If it is renewable, Vault renews it until its max TTL
	// (this needs lookup-self and renew-self, which Vault's "default" policy grants).
	Token string
	// TokenFile is a file holding the token, re-read before every request so a rewritten
	// file takes effect at once: a Vault Agent sink file. Renewing that token is left to
	// whoever writes the file.
	TokenFile string
	// AppRole, when RoleID is set, logs in with AppRole, renews the token while it is
	// renewable and logs in again when renewal ends (max TTL) or fails, or Vault refuses it.
	AppRole AppRole

	// Concurrency caps the KV requests (Fetch, Put) in flight to Vault from this source.
	// Logins and token renewals, one at a time each, come on top. Zero means 8.
	Concurrency int
	// Attempts is how many times a request is tried when Vault answers 5xx/429 or cannot be
	// reached, with exponential backoff (100ms doubling, capped at 2s) in between. Zero means
	// 3. Every wait ends when the caller's context does.
	Attempts int
	// Timeout bounds each HTTP request. Zero means 10s.
	Timeout time.Duration
	// Logger receives renewal and login events (never tokens or keys). Nil means
	// slog.Default().
	Logger *slog.Logger
}

// AppRole holds AppRole credentials.
type AppRole struct {
	// Mount is the AppRole auth mount. Empty means "approle".
	Mount string
	// RoleID is the role_id (not a secret by itself).
	RoleID string
	// SecretIDFile is a file holding the secret_id, read at every login so it can be
	// rotated. It takes precedence over SecretID.
	SecretIDFile string
	// SecretID is the secret_id, when not read from a file. Empty with an empty SecretIDFile
	// is allowed for roles that do not require one (bind_secret_id=false).
	SecretID string
}

// Vault is a Source reading keys from HashiCorp Vault KV v2: the key of
// {Mount, Path, Field, Version} is field Field of secret Path in the KV v2 mount Mount, at
// Version (latest when zero). A missing secret, field, or a missing, deleted or destroyed
// version wraps ErrNotFound. Errors name mount/path#field and never contain key material.
//
// Create it with NewVault and stop its background renewal with Close. It is safe for
// concurrent use.
type Vault struct {
	auth     *vaultAuth
	sem      chan struct{}
	attempts int
	log      *slog.Logger
}

// NewVault builds a Vault. It does not contact Vault: the first Fetch or Put logs in.
// Background renewal stops when ctx is done or Close is called.
func NewVault(ctx context.Context, cfg VaultConfig) (*Vault, error) {
	vc := api.DefaultConfig() // reads VAULT_ADDR, VAULT_CACERT, ... from the environment
	if vc.Error != nil {
		return nil, fmt.Errorf("vault client config: %w", vc.Error)
	}
	if cfg.Address != "" {
		vc.Address = cfg.Address
	}
	if cfg.CACert != "" {
		if err := vc.ConfigureTLS(&api.TLSConfig{CACert: cfg.CACert}); err != nil {
			return nil, fmt.Errorf("vault CA %s: %w", cfg.CACert, err)
		}
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	vc.MaxRetries = 0 // Vault retries itself, bounded and context-aware
	vc.Timeout = cfg.Timeout
	if t, ok := vc.HttpClient.Transport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = cfg.Concurrency
	}
	base, err := api.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	base.ClearToken() // NewClient picks up $VAULT_TOKEN; vaultAuth decides

	mode := authToken
	switch {
	case cfg.AppRole.RoleID != "":
		mode = authAppRole
		if cfg.AppRole.Mount == "" {
			cfg.AppRole.Mount = "approle"
		}
	case cfg.TokenFile != "":
		mode = authTokenFile
	case cfg.Token == "":
		cfg.Token = os.Getenv(api.EnvVaultToken)
		if cfg.Token == "" {
			return nil, errors.New("vault: no credentials: set a token, a token file, AppRole, or VAULT_TOKEN")
		}
	}
	v := &Vault{sem: make(chan struct{}, cfg.Concurrency), attempts: cfg.Attempts, log: cfg.Logger}
	v.auth = newVaultAuth(ctx, base, mode, cfg, v.do)
	return v, nil
}

// Close stops background token renewal and waits for it. Fetch and Put still work after
// Close but no longer renew the token in the background.
func (v *Vault) Close() error {
	v.auth.close()
	return nil
}

// Fetch reads the key ref names.
func (v *Vault) Fetch(ctx context.Context, ref schema.KeyRef) (Key, error) {
	if err := checkRef(ref); err != nil {
		return Key{}, err
	}
	data, version, err := v.readKV(ctx, strings.Trim(ref.Mount, "/"), strings.Trim(ref.Path, "/"), ref.Version)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", RefName(ref), err)
	}
	raw, ok := data[ref.Field]
	if !ok {
		return Key{}, fmt.Errorf("key %s: secret (version %d) has no field %q: %w", RefName(ref), version, ref.Field, ErrNotFound)
	}
	str, ok := raw.(string)
	if !ok {
		return Key{}, fmt.Errorf("key %s: field %q (version %d) is a %T, want a PEM string", RefName(ref), ref.Field, version, raw)
	}
	pemBytes := []byte(str)
	signer, err := checkKeyPEM(pemBytes)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: field %q (version %d): %w", RefName(ref), ref.Field, version, err)
	}
	return Key{PEM: pemBytes, Version: version, Signer: signer}, nil
}

// Put writes pem as field ref.Field of the KV v2 secret ref.Mount/ref.Path and returns the
// new version. Other fields of the secret are kept; the write uses check-and-set on the
// version it read, so a concurrent writer makes it fail rather than be overwritten.
// ref.Version is ignored. pem must hold a PEM private key.
func (v *Vault) Put(ctx context.Context, ref schema.KeyRef, pem []byte) (int, error) {
	if err := checkRef(ref); err != nil {
		return 0, err
	}
	if _, err := checkKeyPEM(pem); err != nil {
		return 0, fmt.Errorf("key %s: %w", RefName(ref), err)
	}
	version, err := v.writeKVField(ctx, strings.Trim(ref.Mount, "/"), strings.Trim(ref.Path, "/"), ref.Field, string(pem))
	if err != nil {
		return 0, fmt.Errorf("key %s: write: %w", RefName(ref), err)
	}
	return version, nil
}

func checkRef(ref schema.KeyRef) error {
	switch {
	case strings.Trim(ref.Mount, "/") == "":
		return fmt.Errorf("key %s: empty mount", RefName(ref))
	case strings.Trim(ref.Path, "/") == "":
		return fmt.Errorf("key %s: empty path", RefName(ref))
	case ref.Field == "":
		return fmt.Errorf("key %s: empty field", RefName(ref))
	case ref.Version < 0:
		return fmt.Errorf("key %s: negative version", RefName(ref))
	}
	return nil
}
