package issue

import (
	"errors"
	"testing"
	"time"
)

// TestJitteredRenewal: two thirds into the lifetime, less up to a twentieth of it; the CA's
// ARI choice instead when it is before expiry.
func TestJitteredRenewal(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	life := 90 * 24 * time.Hour
	rec := &Record{NotBefore: nb, NotAfter: nb.Add(life)}
	twoThirds := nb.Add(60 * 24 * time.Hour)
	seen := map[time.Time]bool{}
	for range 100 {
		at := jitteredRenewal(rec)
		if at.After(twoThirds) || at.Before(twoThirds.Add(-life/20)) {
			t.Fatalf("renewal at %v; want within a twentieth of the lifetime before %v", at, twoThirds)
		}
		seen[at] = true
	}
	if len(seen) < 50 {
		t.Fatalf("%d distinct renewal times of 100; want them spread", len(seen))
	}
	rec.RenewAfter = nb.Add(80 * 24 * time.Hour)
	if at := jitteredRenewal(rec); at.After(rec.RenewAfter) || at.Before(rec.RenewAfter.Add(-life/20)) {
		t.Fatalf("renewal at %v; want near the ARI time %v", at, rec.RenewAfter)
	}
	rec.RenewAfter = rec.NotAfter.Add(time.Hour) // nonsense from the CA: ignored
	if at := jitteredRenewal(rec); at.After(twoThirds) {
		t.Fatalf("renewal at %v after an ARI time past expiry; want two thirds", at)
	}
}

// TestRetryAt: backoff doubles from the base up to 6h, and a CA's Retry-After later than
// that wins.
func TestRetryAt(t *testing.T) {
	m := NewManager(ManagerOptions{RetryBase: time.Minute})
	now := time.Now()
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 4: 8 * time.Minute, 20: 6 * time.Hour} {
		if got := m.retryAt(errors.New("x"), n, now).Sub(now); got != want {
			t.Errorf("failure %d: retry after %v; want %v", n, got, want)
		}
	}
	ra := &RetryAfterError{After: now.Add(3 * time.Hour), Err: errors.New("rate limited")}
	if got := m.retryAt(ra, 1, now); !got.Equal(ra.After) {
		t.Errorf("retry at %v; want the CA's %v", got, ra.After)
	}
}
