package issue_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testenv"
)

// TestACMERateLimitRetryAfter: a CA refusing with 429, a rateLimited problem and
// Retry-After (Pebble never rate-limits, so a small stand-in CA answers) makes Issue fail
// with a *RetryAfterError carrying the CA's time.
func TestACMERateLimitRetryAfter(t *testing.T) {
	t.Parallel()
	var ca *httptest.Server
	ca = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dir":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"newNonce": ca.URL + "/nonce", "newAccount": ca.URL + "/acct", "newOrder": ca.URL + "/order"})
		case "/nonce":
			w.Header().Set("Replay-Nonce", "nonce-"+time.Now().Format("150405.000000000"))
			w.WriteHeader(http.StatusOK)
		default:
			w.Header().Set("Replay-Nonce", "nonce-x")
			w.Header().Set("Retry-After", "7200")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many new accounts"}`))
		}
	}))
	t.Cleanup(ca.Close)
	v := testenv.StartVault(t)
	st := newStore(t, v, "agent-a", time.Minute)
	roots := ca.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	a, err := issue.NewACME("ca", issue.ACMEConfig{Directory: ca.URL + "/dir"}, issue.ACMEOptions{Store: st, Challenges: issue.NewChallenges(st), Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := issue.NewKey(issue.ECDSAP256)
	_, err = a.Issue(context.Background(), issue.Request{Names: []string{"x.edge.test"}, Key: key})
	var ra *issue.RetryAfterError
	if !errors.As(err, &ra) {
		t.Fatalf("Issue: %v; want a *RetryAfterError", err)
	}
	if d := time.Until(ra.After); d < 119*time.Minute || d > 121*time.Minute {
		t.Fatalf("retry after %v; want the CA's 2h", d)
	}
}
