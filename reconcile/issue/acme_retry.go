package issue

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/mholt/acmez/v3/acme"
)

// retryNote collects the latest Retry-After a CA sent during one order.
type retryNote struct {
	mu sync.Mutex
	at time.Time
}

type retryNoteKey struct{}

// withRetryNote returns ctx carrying a fresh note for the CA's Retry-After answers.
func withRetryNote(ctx context.Context) (context.Context, *retryNote) {
	n := &retryNote{}
	return context.WithValue(ctx, retryNoteKey{}, n), n
}

// retryAfterTransport notes the Retry-After header of a 429 or 503 answer in the request
// context's retryNote (acmez reports the problem document, not the header).
type retryAfterTransport struct{ next http.RoundTripper }

func (t retryAfterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return resp, err
	}
	n, ok := r.Context().Value(retryNoteKey{}).(*retryNote)
	if at := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && !at.IsZero() {
		n.mu.Lock()
		if at.After(n.at) {
			n.at = at
		}
		n.mu.Unlock()
	}
	return resp, err
}

// parseRetryAfter reads a Retry-After value: seconds or an HTTP date; zero when absent or
// malformed.
func parseRetryAfter(v string, now time.Time) time.Time {
	if v == "" {
		return time.Time{}
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return now.Add(time.Duration(s) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}

// retryAfter wraps err in a *RetryAfterError when the CA said when to come back: the
// Retry-After noted during the order, else an hour for a rate-limit refusal without one.
func retryAfter(err error, n *retryNote) error {
	var at time.Time
	if n != nil {
		n.mu.Lock()
		at = n.at
		n.mu.Unlock()
	}
	var p acme.Problem
	if at.IsZero() && errors.As(err, &p) && p.Type == acme.ProblemTypeRateLimited {
		at = time.Now().Add(time.Hour)
	}
	if at.IsZero() {
		return err
	}
	return &RetryAfterError{After: at, Err: err}
}
