package edge

import "testing"

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{"WWW.Example.com.", "www.example.com"},
		{"", ""},
	} {
		if got := normalizeName(tc.in); got != tc.want {
			t.Errorf("normalizeName(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestHostOnly(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.com:8443", "example.com"},
		{"example.com.:443", "example.com"},
		{"[::1]:443", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"[broken", ""},
		{"", ""},
	} {
		if got := hostOnly(tc.in); got != tc.want {
			t.Errorf("hostOnly(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidHostPattern(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"example.com", true},
		{"*.example.com", true},
		{"a-b_c.example.com", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"*.com", false},
		{"a.*.example.com", false},
		{"Example.com", false},
		{"example.com.", false},
		{"", false},
		{"exa mple.com", false},
		{"a..b", false},
		{"*", false},
	} {
		if got := validHostPattern(tc.in); got != tc.want {
			t.Errorf("validHostPattern(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

func TestCertCovers(t *testing.T) {
	for _, tc := range []struct {
		cert, host string
		want       bool
	}{
		{"example.com", "example.com", true},
		{"EXAMPLE.com", "example.com", true},
		{"*.example.com", "www.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", "*.example.com", true},
		{"www.example.com", "*.example.com", false},
		{"other.com", "example.com", false},
	} {
		if got := certCovers(tc.cert, tc.host); got != tc.want {
			t.Errorf("certCovers(%q, %q) = %v; want %v", tc.cert, tc.host, got, tc.want)
		}
	}
}
