package edge

import (
	"strings"
	"testing"
)

func TestNegotiateEncoding(t *testing.T) {
	all := []string{"zstd", "br", "gzip"}
	for _, tc := range []struct {
		ae      string
		offered []string
		want    string
	}{
		{"", all, ""},
		{"gzip", all, "gzip"},
		{"gzip, deflate, br, zstd", all, "zstd"},
		{"gzip, br", all, "br"},
		{"br;q=0.5, gzip;q=0.8", all, "gzip"},
		{"br;q=0.5, gzip;q=0.5", all, "br"}, // a tie: the edge's order
		{"zstd;q=0, *", all, "br"},
		{"*", all, "zstd"},
		{"*;q=0", all, ""},
		{"gzip;q=0", all, ""},
		{"gzip;q=0, *;q=0.1", all, "zstd"},
		{"identity", all, ""},
		{"x-gzip", all, "gzip"},
		{"GZIP", all, "gzip"},
		{"br ; q=0.9 , gzip ; Q=0.95", all, "gzip"},
		{"br;q=1.001, gzip", all, "gzip"}, // q above 1: the entry is ignored
		{"br;q=abc, gzip", all, "gzip"},
		{"br;q=0.0001, gzip", all, "gzip"}, // four decimals: malformed
		{"br;q=0.001", all, "br"},
		{"br;level=5;q=0.2, gzip;q=0.1", all, "br"},
		{"zstd, br", []string{"gzip"}, ""},
		{"zstd, br, gzip", []string{"gzip", "br"}, "gzip"},
		{",,, ,gzip,,", all, "gzip"},
		{"gzip;q=", all, ""},
	} {
		if got := negotiateEncoding([]string{tc.ae}, tc.offered); got != tc.want {
			t.Errorf("negotiateEncoding(%q, %v) = %q; want %q", tc.ae, tc.offered, got, tc.want)
		}
	}
	if got := negotiateEncoding([]string{"br;q=0.1", "gzip;q=0.2"}, all); got != "gzip" {
		t.Errorf("two field lines: %q; want gzip", got)
	}
}

// TestNegotiateEncodingHostile: what lies beyond the bounds is not read, so a huge or
// entry-stuffed field costs a bounded amount and cannot smuggle a late preference in.
func TestNegotiateEncodingHostile(t *testing.T) {
	all := []string{"zstd", "br", "gzip"}
	many := strings.Repeat("foo;q=0.5, ", maxAcceptEncodingEntries) + "gzip"
	if got := negotiateEncoding([]string{many}, all); got != "" {
		t.Errorf("gzip after %d entries: %q; want none (not read)", maxAcceptEncodingEntries, got)
	}
	long := strings.Repeat(" ", maxAcceptEncodingBytes) + "gzip"
	if got := negotiateEncoding([]string{long}, all); got != "" {
		t.Errorf("gzip after %d bytes: %q; want none (not read)", maxAcceptEncodingBytes, got)
	}
	lines := make([]string, 10000)
	for i := range lines {
		lines[i] = "x"
	}
	lines = append(lines, "gzip")
	if got := negotiateEncoding(lines, all); got != "" {
		t.Errorf("gzip after 10000 field lines: %q; want none", got)
	}
	if got := negotiateEncoding([]string{"gzip;q=" + strings.Repeat("0", 1<<16)}, all); got != "" {
		t.Errorf("64 KiB q-value: %q; want none", got)
	}
}
