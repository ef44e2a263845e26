package keysource

import (
	"math/rand/v2"
	"time"
)

// refreshSlots is how many batches the refreshes of a Cache come due in, over a refresh
// interval.
//
// Refresh times are spread over [refresh/2, 3*refresh/2) so that 10,000 sites do not all
// read their keys at once. Spread one by one, though, they came due 2-3 at a time every
// second or so from half an interval after start on, and each time the agent stepped: a
// poll and a compile of every site, for one key. At 10,000 sites (keys read every hour) that
// cost 50 ms of CPU a second and 10 MB of garbage a second, idle or serving, which the
// requests paid for as CPU and as extra collections of a 90 MB heap. Rounded up to one of
// refreshSlots boundaries per interval (a minute at 1h), the same spread comes due in
// batches of about 160 keys, one step a minute.
const refreshSlots = 64

// refreshDue is when a key read at now with the given refresh interval is next due: a random
// time in [refresh/2, 3*refresh/2) from now, rounded up to the next multiple of
// refresh/refreshSlots (boundaries every Cache entry shares).
func refreshDue(now time.Time, refresh time.Duration) time.Time {
	t := now.Add(refresh/2 + rand.N(refresh))
	slot := refresh / refreshSlots
	if slot <= 0 {
		return t
	}
	if r := t.Truncate(slot); r.Before(t) {
		return r.Add(slot)
	}
	return t
}
