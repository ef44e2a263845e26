package keysource

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// withClient runs op with an authenticated client, at most cap(v.sem) at once, retrying
// (bounded by v.attempts and ctx) when Vault is unreachable or answers 5xx/429, and once with
// fresh credentials when Vault answers 403 (token expired, revoked, or lost by a restart).
func (v *Vault) withClient(ctx context.Context, op func(*api.Client) error) error {
	reauthed := false
	return v.do(ctx, func() (bool, error) {
		c, gen, err := v.auth.client(ctx)
		if err != nil {
			return false, err
		}
		select {
		case v.sem <- struct{}{}:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		err = op(c)
		<-v.sem
		if err != nil && statusCode(err) == http.StatusForbidden && !reauthed && v.auth.refreshable() {
			reauthed = true
			v.auth.invalidate(gen)
			return true, vaultError(err)
		}
		return false, vaultError(err)
	})
}

// do runs op until it succeeds, returns a non-retryable error, or v.attempts are spent,
// sleeping with jittered exponential backoff between attempts. op's first result asks for an
// immediate retry that does not count as an attempt (used once, after re-authentication).
//
// When ctx ends, the error names the last attempt's own failure: the one before, when the
// last attempt was cut short by ctx itself (Vault down, and the deadline hit a dial).
func (v *Vault) do(ctx context.Context, op func() (again bool, err error)) error {
	var prev error
	for attempt := 1; ; attempt++ {
		again, err := op()
		if err == nil {
			return nil
		}
		if again {
			attempt--
			continue
		}
		if ctx.Err() != nil {
			if prev != nil && errors.Is(err, ctx.Err()) {
				err = prev
			}
			return fmt.Errorf("%w (after %d attempts: %v)", ctx.Err(), attempt, err)
		}
		prev = err
		if !retryable(err) || attempt >= v.attempts {
			return err
		}
		d := min(100*time.Millisecond<<(attempt-1), 2*time.Second)
		d = d/2 + rand.N(d/2+1)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d attempts: %v)", ctx.Err(), attempt, err)
		}
	}
}

// retryable reports whether err is worth another attempt: Vault unreachable, timing out, or
// answering 5xx, 429 or 412 (a performance standby not yet caught up).
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if code := statusCode(err); code != 0 {
		return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusPreconditionFailed
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}

// statusCode is the HTTP status of a Vault response error in err's chain, or 0.
func statusCode(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// vaultErr shortens the Vault client's multi-line response errors to one line for logs and
// status, keeping the original in the chain.
type vaultErr struct{ err *api.ResponseError }

func vaultError(err error) error {
	var re *api.ResponseError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	return &vaultErr{re}
}

func (e *vaultErr) Error() string {
	u := e.err.URL
	if p, err := url.Parse(u); err == nil {
		u = p.Path
	}
	msg := "vault " + e.err.HTTPMethod + " " + u + ": status " + fmt.Sprint(e.err.StatusCode)
	if len(e.err.Errors) > 0 && !e.err.RawError {
		errs := make([]string, len(e.err.Errors))
		for i, s := range e.err.Errors { // "1 error occurred:\n\t* permission denied\n\n"
			errs[i] = strings.Join(strings.Fields(s), " ")
		}
		msg += ": " + strings.Join(errs, "; ")
	}
	return msg
}

func (e *vaultErr) Unwrap() error { return e.err }
