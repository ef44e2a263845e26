package issue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/tests/testenv"
)

func newStore(t *testing.T, v *testenv.Vault, holder string, ttl time.Duration) *issue.Store {
	t.Helper()
	kv, err := keysource.NewVault(context.Background(), keysource.VaultConfig{Address: v.Addr, Token: v.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	return issue.NewStore(kv, issue.StoreOptions{Holder: holder, LockTTL: ttl})
}

// TestLockFencing: one holder at a time; an expired lock can be taken over with a larger
// fence; a result written under the older fence after the newer one is refused.
func TestLockFencing(t *testing.T) {
	t.Parallel()
	v := testenv.StartVault(t)
	ctx := context.Background()
	a := newStore(t, v, "agent-a", time.Minute)
	b := newStore(t, v, "agent-b", time.Minute)
	now := time.Now()

	la, _, err := a.TryLock(ctx, "s", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, st, err := b.TryLock(ctx, "s", now); !errors.Is(err, issue.ErrBusy) || st.Holder != "agent-a" {
		t.Fatalf("second TryLock = %v (holder %q), want ErrBusy held by agent-a", err, st.Holder)
	}
	// a "crashes"; after the lock's expiry b takes it over with a larger fence.
	lb, _, err := b.TryLock(ctx, "s", now.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("takeover after expiry: %v", err)
	}
	if lb.Fence <= la.Fence {
		t.Fatalf("fence %d after takeover, want > %d", lb.Fence, la.Fence)
	}
	rec := issue.Record{ChainPEM: []byte("chain-b"), KeyPEM: []byte("key-b"), Issuer: "le", Names: []string{"s.test"}}
	if _, err := b.WriteIssued(ctx, lb, rec); err != nil {
		t.Fatal(err)
	}
	rec.ChainPEM = []byte("chain-a")
	if _, err := a.WriteIssued(ctx, la, rec); !errors.Is(err, issue.ErrFenced) {
		t.Fatalf("stale holder's write: %v, want ErrFenced", err)
	}
	got, err := a.ReadIssued(ctx, "s")
	if err != nil || string(got.ChainPEM) != "chain-b" || got.Fence != lb.Fence {
		t.Fatalf("stored %q fence %d (%v), want chain-b fence %d", got.ChainPEM, got.Fence, err, lb.Fence)
	}
	// Release with a backoff: nobody may try before it ends.
	if err := b.Unlock(ctx, lb, 1, now.Add(time.Hour), "CA said no"); err != nil {
		t.Fatal(err)
	}
	if _, st, err := a.TryLock(ctx, "s", now.Add(3*time.Minute)); !errors.Is(err, issue.ErrBusy) || st.Reason != "CA said no" || st.Failures != 1 {
		t.Fatalf("TryLock during backoff = %v %+v, want ErrBusy with the reason", err, st)
	}
	if _, _, err := a.TryLock(ctx, "s", now.Add(2*time.Hour)); err != nil {
		t.Fatalf("TryLock after backoff: %v", err)
	}
}
