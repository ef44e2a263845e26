package issue

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
	"golang.org/x/time/rate"
)

// Challenges holds the material of the ACME challenges under way anywhere in the fleet:
// the agent placing an order writes it to Vault (Present) and every agent answers from
// there, so the CA may reach any of them. It is the data plane's edge.ChallengeSource.
//
// Lookups are cached briefly (found: CacheFor; not found: MissFor). Names no site of this
// agent asks an issued certificate for (SetNames) are looked up too, since the CA may reach
// this agent before it has polled the commit adding the site, but at most 5 a second
// (burst 20): a client probing /.well-known/acme-challenge/ cannot make an agent hammer
// Vault.
type Challenges struct {
	store *Store
	// CacheFor and MissFor are how long a found and a missing answer are kept.
	CacheFor, MissFor time.Duration

	unknown *rate.Limiter

	mu    sync.Mutex
	names map[string]bool
	local map[string]string // id → key authorization presented by this agent
	cache map[string]cached
}

type cached struct {
	keyAuth string
	until   time.Time
}

// NewChallenges returns the challenge material store on s.
func NewChallenges(s *Store) *Challenges {
	return &Challenges{store: s, CacheFor: 10 * time.Second, MissFor: time.Second, unknown: rate.NewLimiter(5, 20),
		names: map[string]bool{}, local: map[string]string{}, cache: map[string]cached{}}
}

// SetNames sets the host names challenges may be asked for.
func (c *Challenges) SetNames(names []string) {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	c.mu.Lock()
	c.names = m
	c.mu.Unlock()
}

func httpID(token string) string { return HTTP01 + "." + token }
func alpnID(host string) string  { return TLSALPN01 + "." + host }

// present writes a challenge's key authorization to Vault (and keeps it locally).
func (c *Challenges) present(ctx context.Context, id, keyAuth string) error {
	c.mu.Lock()
	c.local[id] = keyAuth
	c.mu.Unlock()
	return c.store.PutChallenge(ctx, id, keyAuth, time.Now().Add(c.store.opts.LockTTL))
}

// cleanUp forgets a challenge (and blanks it in Vault).
func (c *Challenges) cleanUp(ctx context.Context, id string) error {
	c.mu.Lock()
	delete(c.local, id)
	delete(c.cache, id)
	c.mu.Unlock()
	return c.store.PutChallenge(ctx, id, "", time.Time{})
}

// lookup returns the key authorization of challenge id for host.
func (c *Challenges) lookup(ctx context.Context, host, id string) (string, bool) {
	now := time.Now()
	c.mu.Lock()
	if ka, ok := c.local[id]; ok {
		c.mu.Unlock()
		return ka, true
	}
	if e, ok := c.cache[id]; ok && now.Before(e.until) {
		c.mu.Unlock()
		return e.keyAuth, e.keyAuth != ""
	}
	known := c.names[host]
	c.mu.Unlock()
	if !known && !c.unknown.Allow() {
		return "", false
	}
	ka, err := c.store.GetChallenge(ctx, id, now)
	if err != nil {
		return "", false // not cached: Vault trouble should not outlive it
	}
	ttl := c.MissFor
	if ka != "" {
		ttl = c.CacheFor
	}
	c.mu.Lock()
	if len(c.cache) > 10000 {
		clear(c.cache)
	}
	c.cache[id] = cached{keyAuth: ka, until: now.Add(ttl)}
	c.mu.Unlock()
	return ka, ka != ""
}

// HTTP01 returns the response body to GET /.well-known/acme-challenge/<token> on host.
func (c *Challenges) HTTP01(ctx context.Context, host, token string) (string, bool) {
	if !validToken(token) {
		return "", false
	}
	return c.lookup(ctx, host, httpID(token))
}

// TLSALPN01 returns the acme-tls/1 challenge certificate for host.
func (c *Challenges) TLSALPN01(ctx context.Context, host string) (*tls.Certificate, bool) {
	ka, ok := c.lookup(ctx, host, alpnID(host))
	if !ok {
		return nil, false
	}
	cert, err := acmez.TLSALPN01ChallengeCert(acme.Challenge{
		Identifier: acme.Identifier{Type: "dns", Value: host}, KeyAuthorization: ka,
	})
	if err != nil {
		return nil, false
	}
	return cert, true
}

// validToken: an ACME token is base64url, at least 128 bits (RFC 8555 §8.1).
func validToken(t string) bool {
	if len(t) < 22 || len(t) > 128 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// PutChallenge writes a challenge's key authorization, valid until expires ("" blanks it).
func (s *Store) PutChallenge(ctx context.Context, id, keyAuth string, expires time.Time) error {
	path := s.challengePath(id)
	_, ver, err := s.get(ctx, path)
	if err != nil {
		return err
	}
	_, err = s.put(ctx, path, map[string]any{"key_auth": keyAuth, "expires": tString(expires)}, ver)
	return err
}

// GetChallenge reads a challenge's key authorization; "" when there is none or it expired.
func (s *Store) GetChallenge(ctx context.Context, id string, now time.Time) (string, error) {
	d, _, err := s.get(ctx, s.challengePath(id))
	if err != nil || d == nil {
		return "", err
	}
	if exp := tField(d, "expires"); exp.IsZero() || now.After(exp) {
		return "", nil
	}
	return sField(d, "key_auth"), nil
}

// solver is an acmez.Solver presenting challenges of one type through Challenges.
type solver struct {
	c   *Challenges
	typ string
}

func (s solver) id(ch acme.Challenge) string {
	if s.typ == TLSALPN01 {
		return alpnID(ch.Identifier.Value)
	}
	return httpID(ch.Token)
}

func (s solver) Present(ctx context.Context, ch acme.Challenge) error {
	return s.c.present(ctx, s.id(ch), ch.KeyAuthorization)
}

func (s solver) CleanUp(ctx context.Context, ch acme.Challenge) error {
	return s.c.cleanUp(ctx, s.id(ch))
}
