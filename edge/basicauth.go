package edge

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgectl/edge/edge/passwd"
	"github.com/edgectl/edge/edge/site"
)

// basicAuth is the handler of a route with BasicAuth: it lets a request through to next
// only with the user name and password of one of the route's users, and removes the
// credentials (the Authorization header) before. Anything else gets 401 with the realm's
// challenge.
//
// Password checks cost CPU on purpose (bcrypt, argon2id). So that a client sending many
// passwords cannot burn the server's cores, at most GOMAXPROCS checks run at once in the
// process (others wait, until their client leaves), a hash's cost is bounded (see passwd),
// and a successful check is remembered for verifiedTTL, keyed by a keyed hash of the
// credentials: a browser sending them with every request costs one check per minute.
type basicAuth struct {
	next      http.Handler
	site      string
	denied    routeDenier
	challenge string
	users     map[string]passwd.Verifier
	decoy     passwd.Verifier // checked for unknown users, so that they take as long
	verified  verifiedCache
}

// verifiedTTL is how long a successful check is remembered.
const verifiedTTL = time.Minute

// maxVerified bounds the remembered checks of one route.
const maxVerified = 4096

// hashChecks bounds the password checks running at once in the process.
var hashChecks = make(chan struct{}, runtime.GOMAXPROCS(0))

// credKey keys the remembered checks: a random key per process, so the cache holds no
// plain hash of a password.
var credKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}()

// newBasicAuth returns the BasicAuth handler of route r of st in front of next. Every user
// of the route's secret must have a hash passwd accepts; errors name the user, never the
// hash.
func newBasicAuth(st *Site, r *site.Route, next http.Handler, d Denials) (http.Handler, error) {
	ba := r.BasicAuth.WithDefaults()
	hashes, ok := st.Users[ba.Users]
	if !ok {
		return nil, fmt.Errorf("basic_auth: users of %s not read", ba.Users)
	}
	a := &basicAuth{next: next, site: st.Name, denied: newRouteDenier(st, d), users: make(map[string]passwd.Verifier, len(hashes)),
		challenge: `Basic realm="` + quoteRealm(ba.Realm) + `", charset="UTF-8"`}
	names := make([]string, 0, len(hashes))
	for user, h := range hashes {
		v, err := passwd.Parse(h)
		if err != nil {
			return nil, fmt.Errorf("basic_auth: %s: user %q: %w", ba.Users, user, err)
		}
		a.users[user] = v
		names = append(names, user)
	}
	if len(names) > 0 {
		sort.Strings(names)
		a.decoy = a.users[names[0]]
	}
	a.verified.m = make(map[[32]byte]time.Time)
	return a, nil
}

// quoteRealm escapes a realm for a quoted-string.
func quoteRealm(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// Unwrap returns the handler basicAuth protects.
func (a *basicAuth) Unwrap() http.Handler { return a.next }

func (a *basicAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if ok && a.check(r.Context(), user, pass) {
		r.Header.Del("Authorization")
		a.next.ServeHTTP(w, r)
		return
	}
	reason := DenyBasicAuthWrong
	if !ok {
		reason = DenyBasicAuthMissing
	}
	w.Header().Set("Www-Authenticate", a.challenge)
	a.denied.deny(w, r, http.StatusUnauthorized, reason)
}

// check reports whether pass is user's password: remembered, or checked now.
func (a *basicAuth) check(ctx context.Context, user, pass string) bool {
	mac := hmac.New(sha256.New, credKey)
	mac.Write(binary.BigEndian.AppendUint32(nil, uint32(len(user)))) // no user/password split is another's
	mac.Write([]byte(user))
	mac.Write([]byte(pass))
	var key [32]byte
	mac.Sum(key[:0])
	now := time.Now()
	if a.verified.has(key, now) {
		return true
	}
	v, known := a.users[user]
	if !known {
		v = a.decoy
	}
	if v == nil {
		return false
	}
	select {
	case hashChecks <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	good := v.Verify([]byte(pass))
	<-hashChecks
	if !good || !known {
		return false
	}
	a.verified.add(key, now.Add(verifiedTTL))
	return true
}

// verifiedCache remembers successful checks until they expire; bounded by maxVerified.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time
}

func (c *verifiedCache) has(key [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.m[key]
	return ok && now.Before(exp)
}

func (c *verifiedCache) add(key [32]byte, exp time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxVerified {
		now := time.Now()
		for k, e := range c.m {
			if !now.Before(e) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxVerified {
			clear(c.m)
		}
	}
	c.m[key] = exp
}

// withAuth puts the route's authentication (BasicAuth or ForwardAuth, if any) in front of
// h.
func withAuth(st *Site, r *site.Route, h http.Handler, d Denials) (http.Handler, error) {
	switch {
	case r.BasicAuth != nil:
		return newBasicAuth(st, r, h, d)
	case r.ForwardAuth != nil:
		return newForwardAuth(st, r, h, d)
	}
	return h, nil
}
