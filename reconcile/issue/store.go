package issue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"
)

// Vault runs requests against Vault with an authenticated client (keysource.Vault.Do is
// the real one: login, renewal, bounded retries).
type Vault interface {
	Do(ctx context.Context, op func(*api.Client) error) error
}

// StoreOptions configure a Store. The zero value is the documented layout.
type StoreOptions struct {
	// Mount is the KV v2 mount; default "secret".
	Mount string
	// Prefix is the path below the mount; default "edge". The store uses (KV v2 paths,
	// below <mount>/data/):
	//
	//	<prefix>/issued/<site>            chain, key, fence, names, not_after, renew_after, issuer
	//	<prefix>/issue-locks/<site>       holder, expires, fence, failures, not_before, reason
	//	<prefix>/acme-challenges/<id>     key_auth, expires (id: http-01.<token>, tls-alpn-01.<host>)
	//	<prefix>/acme-accounts/<issuer>   key (the ACME account's private key), email
	Prefix string
	// Holder names this agent in locks (default hostname/pid).
	Holder string
	// LockTTL is how long a lock holds without being released: an order must finish
	// within it (its context ends a tenth of it before), and a crashed holder blocks the
	// name at most this long. Default 10m.
	LockTTL time.Duration
}

// Store keeps issued certificates, locks, challenge material and ACME accounts in Vault
// KV v2. Secrets never appear in its errors.
type Store struct {
	v     Vault
	opts  StoreOptions
	reads atomic.Int64
}

// NewStore returns a Store on v.
func NewStore(v Vault, opts StoreOptions) *Store {
	if opts.Mount == "" {
		opts.Mount = "secret"
	}
	if opts.Prefix == "" {
		opts.Prefix = "edge"
	}
	opts.Mount, opts.Prefix = strings.Trim(opts.Mount, "/"), strings.Trim(opts.Prefix, "/")
	if opts.Holder == "" {
		h, _ := os.Hostname()
		opts.Holder = fmt.Sprintf("%s/%d", h, os.Getpid())
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = 10 * time.Minute
	}
	return &Store{v: v, opts: opts}
}

// Reads is the number of Vault reads the store made (for metrics and tests).
func (s *Store) Reads() int64 { return s.reads.Load() }

// IssuedPath is the KV v2 path (below the mount) of site's issued certificate.
func (s *Store) IssuedPath(site string) string { return s.opts.Prefix + "/issued/" + site }

func (s *Store) lockPath(site string) string { return s.opts.Prefix + "/issue-locks/" + site }

func (s *Store) challengePath(id string) string { return s.opts.Prefix + "/acme-challenges/" + id }

func (s *Store) accountPath(issuer string) string { return s.opts.Prefix + "/acme-accounts/" + issuer }

// get reads path; nil, 0, nil when it does not exist (or its latest version is deleted).
func (s *Store) get(ctx context.Context, path string) (map[string]any, int, error) {
	s.reads.Add(1)
	var sec *api.KVSecret
	err := s.v.Do(ctx, func(c *api.Client) (err error) {
		sec, err = c.KVv2(s.opts.Mount).Get(ctx, path)
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) {
		return nil, versionOf(sec), nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("vault read %s/%s: %w", s.opts.Mount, path, err)
	}
	return sec.Data, versionOf(sec), nil
}

// put writes data at path if its current version is still cas (0: must not exist). A
// lost race returns errCAS.
func (s *Store) put(ctx context.Context, path string, data map[string]any, cas int) (int, error) {
	var sec *api.KVSecret
	err := s.v.Do(ctx, func(c *api.Client) (err error) {
		sec, err = c.KVv2(s.opts.Mount).Put(ctx, path, data, api.WithCheckAndSet(cas))
		return err
	})
	if isCASError(err) {
		return 0, errCAS
	}
	if err != nil {
		return 0, fmt.Errorf("vault write %s/%s: %w", s.opts.Mount, path, err)
	}
	return versionOf(sec), nil
}

var errCAS = errors.New("check-and-set lost: another agent wrote first")

func isCASError(err error) bool {
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		return false
	}
	return strings.Contains(strings.Join(re.Errors, " "), "check-and-set")
}

func versionOf(s *api.KVSecret) int {
	if s == nil || s.VersionMetadata == nil {
		return 0
	}
	return s.VersionMetadata.Version
}

// field helpers: every value is written as a string.
func sField(d map[string]any, k string) string {
	v, _ := d[k].(string)
	return v
}

func iField(d map[string]any, k string) int64 {
	n, _ := strconv.ParseInt(sField(d, k), 10, 64)
	return n
}

func tField(d map[string]any, k string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, sField(d, k))
	return t
}

func tString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ReadSecret reads one field of a KV v2 secret (an EAB HMAC key, a TSIG secret). Its value
// is secret: never log it.
func (s *Store) ReadSecret(ctx context.Context, ref SecretRef) (string, error) {
	mount := strings.Trim(ref.Mount, "/")
	if mount == "" {
		mount = "secret"
	}
	s.reads.Add(1)
	var sec *api.KVSecret
	err := s.v.Do(ctx, func(c *api.Client) (err error) {
		sec, err = c.KVv2(mount).Get(ctx, ref.Path)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("vault read %s/%s: %w", mount, ref.Path, err)
	}
	v, ok := sec.Data[ref.Field].(string)
	if !ok || v == "" {
		return "", fmt.Errorf("vault secret %s/%s has no field %q", mount, ref.Path, ref.Field)
	}
	return v, nil
}
