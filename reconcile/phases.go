package reconcile

import (
	"log/slog"
	"time"
)

// stepPhases is how long the parts of one Step took, logged with "reconciled" so that a
// start's time can be broken down from its log: fetching the repo (poll: a clone on a cold
// start), evaluating and checking its files (load), reading the keys (keys), compiling the
// sites (compile) and swapping the snapshot in (publish). A part the step did not do is 0.
type stepPhases struct {
	poll, load, keys, compile, publish time.Duration
}

// since returns the time elapsed since *t and sets *t to now: the duration of the part
// that began at *t, the next part beginning now.
func since(t *time.Time) time.Duration {
	now := time.Now()
	d := now.Sub(*t)
	*t = now
	return d
}

// attr is the phases as the "took_ms" group of a log line, in milliseconds rounded to 0.1.
func (p stepPhases) attr() slog.Attr {
	ms := func(d time.Duration) float64 {
		return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
	}
	return slog.Group("took_ms", "poll", ms(p.poll), "load", ms(p.load), "keys", ms(p.keys),
		"compile", ms(p.compile), "publish", ms(p.publish))
}
