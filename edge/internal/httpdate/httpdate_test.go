package httpdate

import (
	"net/http"
	"testing"
	"time"
)

// TestString: the cached value is what formatting the current time gives, the same as
// text and as bytes, and reading it does not allocate.
func TestString(t *testing.T) {
	for range 3 {
		before := time.Now().UTC().Format(http.TimeFormat)
		got, b := String(), string(Bytes())
		after := time.Now().UTC().Format(http.TimeFormat)
		if got != before && got != after {
			t.Fatalf("String() = %q, want %q or %q", got, before, after)
		}
		if b != before && b != after {
			t.Fatalf("Bytes() = %q, want %q or %q", b, before, after)
		}
	}
	// At most one allocation when the second changes during the runs: 1/100 rounds to 0.
	if n := testing.AllocsPerRun(100, func() { String() }); n != 0 {
		t.Errorf("String: %v allocations per call", n)
	}
}
