package edge

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/passwd"
)

// countingVerifier counts checks and the most running at once; each takes a moment so
// that concurrent ones overlap.
type countingVerifier struct {
	pw              string
	calls, now, max atomic.Int64
}

func (v *countingVerifier) Verify(pw []byte) bool {
	v.calls.Add(1)
	n := v.now.Add(1)
	for {
		m := v.max.Load()
		if n <= m || v.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond)
	v.now.Add(-1)
	return string(pw) == v.pw
}

// TestBasicAuthCheckCost: a good password is checked once and then remembered; wrong
// passwords and unknown users cost a check each (unknown users against a real user's hash,
// so that they take as long); checks never run more than hashChecks allows at once.
func TestBasicAuthCheckCost(t *testing.T) {
	v := &countingVerifier{pw: "right"}
	a := &basicAuth{users: map[string]passwd.Verifier{"alice": v}, decoy: v}
	a.verified.m = map[[32]byte]time.Time{}
	ctx := context.Background()
	if !a.check(ctx, "alice", "right") || !a.check(ctx, "alice", "right") || v.calls.Load() != 1 {
		t.Errorf("two good checks: %d hash checks; want 1 (the second remembered)", v.calls.Load())
	}
	if a.check(ctx, "alice", "wrong") || a.check(ctx, "alice", "wrong") || v.calls.Load() != 3 {
		t.Errorf("two wrong checks: %d hash checks in all; want 3 (failures are not remembered)", v.calls.Load())
	}
	if a.check(ctx, "mallory", "right") || v.calls.Load() != 4 {
		t.Errorf("unknown user with the decoy's password: accepted or not checked (%d)", v.calls.Load())
	}
	var wg sync.WaitGroup
	for i := 0; i < 8*cap(hashChecks); i++ {
		wg.Add(1)
		go func() { defer wg.Done(); a.check(ctx, "alice", "wrong") }()
	}
	wg.Wait()
	if m := v.max.Load(); m > int64(cap(hashChecks)) {
		t.Errorf("%d checks ran at once; want at most %d", m, cap(hashChecks))
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for i := 0; i < cap(hashChecks); i++ {
		hashChecks <- struct{}{}
	}
	if a.check(gone, "alice", "right2") {
		t.Error("a check whose client left while waiting succeeded")
	}
	for i := 0; i < cap(hashChecks); i++ {
		<-hashChecks
	}
}
