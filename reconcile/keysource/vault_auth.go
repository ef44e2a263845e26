package keysource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

type authMode int

const (
	authToken     authMode = iota // a static token, renewed in the background if renewable
	authTokenFile                 // a token file written by someone else (Vault Agent)
	authAppRole                   // AppRole login, renewal, login again
)

// vaultAuth hands out a client carrying a valid token. Authentication is lazy (the first
// request logs in), serialised (one login at a time, waited for with a context), and
// generation-counted so that a request refused with 403 invalidates only the token it used.
type vaultAuth struct {
	base  *api.Client // carries no token; Clone()d for each new token
	mode  authMode
	cfg   VaultConfig
	log   *slog.Logger
	retry func(context.Context, func() (bool, error)) error

	ctx    context.Context // background renewal; cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	login chan struct{} // one-slot lock around authenticate

	mu      sync.Mutex
	cur     *api.Client // nil: authenticate before the next request
	gen     uint64      // incremented by each authenticate
	watched bool        // renewal of the static token was started
}

func newVaultAuth(ctx context.Context, base *api.Client, mode authMode, cfg VaultConfig, retry func(context.Context, func() (bool, error)) error) *vaultAuth {
	a := &vaultAuth{base: base, mode: mode, cfg: cfg, log: cfg.Logger, retry: retry, login: make(chan struct{}, 1)}
	a.ctx, a.cancel = context.WithCancel(ctx)
	return a
}

// client returns a client with a token believed valid, and the token's generation.
func (a *vaultAuth) client(ctx context.Context) (*api.Client, uint64, error) {
	if c, gen, ok := a.current(); ok {
		return c, gen, nil
	}
	select {
	case a.login <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-a.login }()
	if c, gen, ok := a.current(); ok { // another caller authenticated while we waited
		return c, gen, nil
	}
	return a.authenticate(ctx)
}

func (a *vaultAuth) current() (*api.Client, uint64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur == nil {
		return nil, 0, false
	}
	if a.mode == authTokenFile {
		// Re-read on every request: a few microseconds against a network round trip, and
		// unlike modification times (coarse on Linux) it never misses a rewrite.
		if tok, err := readTokenFile(a.cfg.TokenFile); err != nil || tok != a.cur.Token() {
			return nil, 0, false
		}
	}
	return a.cur, a.gen, true
}

// refreshable reports whether authenticating again can yield a different token.
func (a *vaultAuth) refreshable() bool { return a.mode != authToken }

// invalidate drops the token of generation gen (refused by Vault) so the next request
// authenticates again.
func (a *vaultAuth) invalidate(gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen == gen {
		a.cur = nil
	}
}

// authenticate gets a token; the caller holds a.login.
func (a *vaultAuth) authenticate(ctx context.Context) (*api.Client, uint64, error) {
	var (
		tok    string
		secret *api.Secret
		err    error
	)
	switch a.mode {
	case authToken:
		tok = a.cfg.Token
	case authTokenFile:
		tok, err = readTokenFile(a.cfg.TokenFile)
	case authAppRole:
		secret, err = a.appRoleLogin(ctx)
		if err == nil {
			tok = secret.Auth.ClientToken
		}
	}
	if err != nil {
		return nil, 0, err
	}
	c, err := a.base.Clone()
	if err != nil {
		return nil, 0, fmt.Errorf("vault client: %w", err)
	}
	c.SetToken(tok)

	a.mu.Lock()
	a.gen++
	gen := a.gen
	a.cur = c
	startStatic := a.mode == authToken && !a.watched
	a.watched = a.watched || startStatic
	a.mu.Unlock()

	switch {
	case secret != nil && secret.Auth.Renewable:
		a.goWatch(func() { a.watch(c, secret, gen) })
	case startStatic:
		a.goWatch(func() { a.watchStatic(c, gen) })
	}
	return c, gen, nil
}

func (a *vaultAuth) appRoleLogin(ctx context.Context) (*api.Secret, error) {
	ar := a.cfg.AppRole
	secretID := ar.SecretID
	if ar.SecretIDFile != "" {
		b, err := os.ReadFile(ar.SecretIDFile)
		if err != nil {
			return nil, fmt.Errorf("vault approle secret_id file: %w", err)
		}
		secretID = strings.TrimSpace(string(b))
	}
	data := map[string]any{"role_id": ar.RoleID}
	if secretID != "" {
		data["secret_id"] = secretID
	}
	path := "auth/" + strings.Trim(ar.Mount, "/") + "/login"
	var s *api.Secret
	err := a.retry(ctx, func() (bool, error) {
		var err error
		s, err = a.base.Logical().WriteWithContext(ctx, path, data)
		return false, vaultError(err)
	})
	if err != nil {
		return nil, fmt.Errorf("vault approle login at %s: %w", path, err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return nil, fmt.Errorf("vault approle login at %s: no token in the response", path)
	}
	a.log.Info("vault: logged in with approle", "ttl_seconds", s.Auth.LeaseDuration, "renewable", s.Auth.Renewable)
	return s, nil
}

func (a *vaultAuth) goWatch(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx.Err() != nil { // closed: no new background work
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// watch renews the token of generation gen until renewal ends (near the max TTL, or
// failing); then, with AppRole, it logs in again while the old token is still valid.
func (a *vaultAuth) watch(c *api.Client, s *api.Secret, gen uint64) {
	w, err := c.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: s})
	if err != nil {
		a.log.Warn("vault: cannot renew token", "err", err)
		return
	}
	go w.Start()
	defer w.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case r := <-w.RenewCh():
			if r != nil && r.Secret != nil && r.Secret.Auth != nil {
				a.log.Debug("vault: token renewed", "ttl_seconds", r.Secret.Auth.LeaseDuration)
			}
		case err := <-w.DoneCh():
			if a.mode != authAppRole {
				a.log.Warn("vault: token renewal ended; the token will expire", "err", err)
				return
			}
			a.log.Info("vault: token renewal ended; logging in again", "err", err)
			ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
			defer cancel()
			if err := a.relogin(ctx, gen); err != nil {
				a.log.Warn("vault: login failed; the next request tries again", "err", err)
			}
			return
		}
	}
}

// relogin replaces the token of generation gen, unless it was replaced already.
func (a *vaultAuth) relogin(ctx context.Context, gen uint64) error {
	select {
	case a.login <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.login }()
	a.mu.Lock()
	stale := a.gen != gen
	a.mu.Unlock()
	if stale {
		return nil
	}
	_, _, err := a.authenticate(ctx)
	return err
}

// watchStatic renews a static token if Vault says it is renewable with a TTL.
func (a *vaultAuth) watchStatic(c *api.Client, gen uint64) {
	ctx, cancel := context.WithTimeout(a.ctx, a.cfg.Timeout)
	s, err := c.Auth().Token().LookupSelfWithContext(ctx)
	cancel()
	if err != nil || s == nil {
		a.log.Debug("vault: token lookup failed; not renewing it", "err", vaultError(err))
		return
	}
	renewable, _ := s.TokenIsRenewable()
	ttl, _ := s.TokenTTL()
	if !renewable || ttl <= 0 {
		return
	}
	a.watch(c, &api.Secret{Auth: &api.SecretAuth{ClientToken: c.Token(), Renewable: true, LeaseDuration: int(ttl / time.Second)}}, gen)
}

func (a *vaultAuth) close() {
	a.mu.Lock()
	a.cancel()
	a.mu.Unlock()
	a.wg.Wait()
}

func readTokenFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("vault token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("vault token file " + name + " is empty")
	}
	return tok, nil
}
