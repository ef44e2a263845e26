package schema

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseDuration parses a Go duration ("1h30m", "500ms") that may also use "d" for 24 hours
// ("365d", "1d12h"). Negative durations are refused.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if !strings.Contains(s, "d") {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration such as \"30s\", \"5m\", \"1h30m\" or \"365d\"", s)
		}
		return d, nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, 'd')
		if i < 0 {
			d, err := time.ParseDuration(rest)
			if err != nil || d < 0 {
				return 0, fmt.Errorf("%q is not a duration such as \"30s\", \"5m\", \"1h30m\" or \"365d\"", s)
			}
			return add(total, d, s)
		}
		head := rest[:i]
		// head is either "<n>" (days) or "<go duration><n>" when units precede the days,
		// which Go durations would write largest unit first; accept only "<n>d" at the start.
		n, err := strconv.ParseFloat(head, 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return 0, fmt.Errorf("%q is not a duration such as \"30s\", \"5m\", \"1h30m\" or \"365d\" (days come first: \"1d12h\")", s)
		}
		days := n * float64(24*time.Hour)
		if days > float64(math.MaxInt64) {
			return 0, fmt.Errorf("%q is too long a duration", s)
		}
		var err2 error
		total, err2 = add(total, time.Duration(days), s)
		if err2 != nil {
			return 0, err2
		}
		rest = rest[i+1:]
	}
	return total, nil
}

func add(a, b time.Duration, s string) (time.Duration, error) {
	if a > math.MaxInt64-b {
		return 0, fmt.Errorf("%q is too long a duration", s)
	}
	return a + b, nil
}

// formatDuration prints d using days when it is a whole number of days ("30d").
func formatDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// ParseDuration parses a duration as config files write them: a Go duration ("90s",
// "1h30m") that may start with days ("30d", "1d12h"). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) { return parseDuration(s) }
