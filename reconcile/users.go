package reconcile

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/edgectl/edge/edge/passwd"
	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// Basic-auth users: the secrets the routes' BasicAuth name are read from Users (Vault)
// into a keysource.Cache of their own, like keys, but re-read every UsersRefresh (one
// poll interval by default) rather than hourly, so that a password changed in Vault takes
// effect within a poll, with no commit and no restart. A site whose users changed is
// compiled again (its route handlers too); the others are untouched.

// usersRefsOf lists the users secrets of cfg's routes, as Cache references.
func usersRefsOf(cfg *schema.Config) []schema.KeyRef {
	var refs []schema.KeyRef
	for _, s := range cfg.Sites {
		for _, r := range siteUsersRefs(s) {
			refs = append(refs, keysource.UsersKeyRef(r))
		}
	}
	return refs
}

// siteUsersRefs lists the users secrets the routes of s name.
func siteUsersRefs(s *schema.Site) []site.SecretRef {
	var refs []site.SecretRef
	for i := range s.Routes {
		if ba := s.Routes[i].BasicAuth; ba != nil {
			refs = append(refs, ba.Users)
		}
	}
	return refs
}

// siteUsers returns the users of the secrets s's routes name, with a digest of them all
// (equal digests: nothing to recompile), or an error naming the secret (and the user
// whose hash is unusable), never a hash. A secret whose refresh failed keeps its last good
// users.
func (a *Agent) siteUsers(s *schema.Site) (map[site.SecretRef]map[string]string, [32]byte, error) {
	refs := siteUsersRefs(s)
	if len(refs) == 0 {
		return nil, [32]byte{}, nil
	}
	if a.users == nil {
		return nil, [32]byte{}, fmt.Errorf("site %s (%s): basic_auth needs the users from Vault; run the agent with --keys vault", s.Name, s.File)
	}
	out := make(map[site.SecretRef]map[string]string, len(refs))
	h := sha256.New()
	for _, ref := range refs {
		if _, done := out[ref]; done {
			continue
		}
		e, ok := a.users.Lookup(keysource.UsersKeyRef(ref))
		if !ok || !e.Have {
			err := errors.New("not read yet")
			if ok && e.Err != nil {
				err = e.Err
			}
			return nil, [32]byte{}, fmt.Errorf("site %s (%s): basic_auth users %s: %w", s.Name, s.File, ref, err)
		}
		users, err := keysource.DecodeUsers(e.Key)
		if err != nil {
			return nil, [32]byte{}, fmt.Errorf("site %s (%s): basic_auth users %s: %w", s.Name, s.File, ref, err)
		}
		for name, hash := range users {
			if _, err := passwd.Parse(hash); err != nil {
				return nil, [32]byte{}, fmt.Errorf("site %s (%s): basic_auth users %s (version %d): user %q: %w", s.Name, s.File, ref, e.Key.Version, name, err)
			}
		}
		out[ref] = users
		h.Write([]byte(ref.String()))
		h.Write(e.Sum[:])
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return out, sum, nil
}

// newUsersCache returns the cache of users secrets opts asks for; nil without Users.
func newUsersCache(opts AgentOptions) *keysource.Cache {
	if opts.Users == nil {
		return nil
	}
	refresh := opts.UsersRefresh
	switch {
	case refresh == 0:
		refresh = opts.Interval
	case refresh < 0:
		refresh = 0
	}
	return keysource.NewCache(keysource.UsersAsSource(opts.Users), refresh, opts.KeyConcurrency)
}

// syncUsers reads the users secrets of cfg that are new or due; it returns the reads made.
func (a *Agent) syncUsers(ctx context.Context, cfg *schema.Config) int {
	if a.users == nil {
		return 0
	}
	return a.users.Sync(ctx, usersRefsOf(cfg))
}

// usersDue reports whether a users secret of the served config is due for a read.
func (a *Agent) usersDue() bool {
	return a.users != nil && a.cfg != nil && a.users.Due(usersRefsOf(a.cfg))
}

// usersNextDue is when the next users secret is due for a read; zero if none.
func (a *Agent) usersNextDue() time.Time {
	if a.users == nil {
		return time.Time{}
	}
	return a.users.NextDue()
}

// earliest returns the earlier of two times, zero meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// usersRefreshError says why a users secret of s could not be read again, while its last
// good users serve; "" when all were read.
func (a *Agent) usersRefreshError(s *schema.Site) string {
	if a.users == nil {
		return ""
	}
	for _, ref := range siteUsersRefs(s) {
		if e, ok := a.users.Lookup(keysource.UsersKeyRef(ref)); ok && e.Have && e.Err != nil {
			return "basic_auth users refresh failed, serving the users read before: " + e.Err.Error()
		}
	}
	return ""
}
