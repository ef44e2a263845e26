package keysource

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
)

// TestRefreshDueInBatches: refresh times stay in [refresh/2, 3*refresh/2) from the read (up
// to one slot later), and fall on refreshSlots-per-interval boundaries, so that 10,000 keys
// come due at no more than refreshSlots distinct times (about 160 at a time), not one by one.
func TestRefreshDueInBatches(t *testing.T) {
	const refresh = time.Hour
	slot := refresh / refreshSlots
	now := time.Now()
	times := map[time.Time]int{}
	for range 10000 {
		d := refreshDue(now, refresh)
		if d.Before(now.Add(refresh/2)) || !d.Before(now.Add(3*refresh/2+slot)) {
			t.Fatalf("due %v after the read; want in [%v, %v)", d.Sub(now), refresh/2, 3*refresh/2+slot)
		}
		if !d.Truncate(slot).Equal(d) {
			t.Fatalf("due %v is not on a %v boundary", d, slot)
		}
		times[d.Truncate(0)]++
	}
	if len(times) > refreshSlots+1 {
		t.Errorf("10,000 keys come due at %d distinct times; want at most %d", len(times), refreshSlots+1)
	}
}

// TestRefreshDueTinyInterval: an interval shorter than refreshSlots nanoseconds is spread
// as it is (no zero-length slots).
func TestRefreshDueTinyInterval(t *testing.T) {
	now := time.Now()
	for range 100 {
		if d := refreshDue(now, 10); d.Before(now.Add(5)) || !d.Before(now.Add(15)) {
			t.Fatalf("due %v after the read; want in [5ns, 15ns)", d.Sub(now))
		}
	}
}

// anySource answers every reference.
type anySource struct{}

func (anySource) Fetch(_ context.Context, ref schema.KeyRef) (Key, error) {
	return Key{PEM: []byte("key " + ref.Path)}, nil
}

// TestCacheRefreshComesDueTogether: keys read in one Sync share at most refreshSlots+1 due
// times, so once the first is due again a Sync reads its whole batch, not one key; NextDue
// names one of those times.
func TestCacheRefreshComesDueTogether(t *testing.T) {
	c := NewCache(anySource{}, time.Hour, 4)
	refs := make([]schema.KeyRef, 2000)
	for i := range refs {
		refs[i] = schema.KeyRef{Path: fmt.Sprint("k", i)}
	}
	c.Sync(context.Background(), refs)
	times := map[time.Time]int{}
	for _, e := range c.entries {
		times[e.due.Truncate(0)]++
	}
	if len(times) > refreshSlots+1 {
		t.Errorf("%d keys due at %d distinct times; want at most %d", len(refs), len(times), refreshSlots+1)
	}
	next := c.NextDue()
	if times[next.Truncate(0)] == 0 {
		t.Errorf("NextDue %v is no entry's due time", next)
	}
}
