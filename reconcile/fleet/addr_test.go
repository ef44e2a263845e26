package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		spec, want string // want: the canonical form, or "error"
	}{
		{"10.0.0.1:9443", "10.0.0.1:9443"},
		{"http://10.0.0.1:9443/", "10.0.0.1:9443"},
		{"https://edge-1.internal:8443", "https://edge-1.internal:8443"},
		{"edge-1.internal", "edge-1.internal:9443"},
		{"[::1]:9443", "[::1]:9443"},
		{"[::1]", "[::1]:9443"},
		{"dns:edge.internal:9443", "dns:edge.internal:9443"},
		{"dns:https://edge.internal", "dns:https://edge.internal:9443"},
		{"ftp://x:1", "error"},
		{"host:99999", "error"},
		{"host:x", "error"},
		{"https://host:1/status", "error"},
		{"user@host:1", "error"},
		{"", "error"},
		{":9443", "error"},
	}
	for _, tt := range tests {
		a, err := ParseAddr(tt.spec)
		got := a.String()
		if err != nil {
			got = "error"
		}
		if got != tt.want {
			t.Errorf("ParseAddr(%q) = %q (%v); want %q", tt.spec, got, err, tt.want)
		}
	}
}

// TestPeersLoad: a list mixing addresses and a file (comments, several per line), the file
// read again on every Load; a bad line names the file and line.
func TestPeersLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "peers")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# the edge fleet\n10.0.0.2:9443  # rack 1\n\n10.0.0.3:9443, https://10.0.0.4:9443\n")
	p, err := ParsePeers("10.0.0.1:9443," + file)
	if err != nil {
		t.Fatal(err)
	}
	got := func() string {
		addrs, err := p.Load()
		if err != nil {
			return err.Error()
		}
		var s []string
		for _, a := range addrs {
			s = append(s, a.String())
		}
		return strings.Join(s, " ")
	}
	if g, w := got(), "10.0.0.1:9443 10.0.0.2:9443 10.0.0.3:9443 https://10.0.0.4:9443"; g != w {
		t.Errorf("Load: %s; want %s", g, w)
	}
	write("10.0.0.5:9443\n")
	if g, w := got(), "10.0.0.1:9443 10.0.0.5:9443"; g != w {
		t.Errorf("Load after the file changed: %s; want %s", g, w)
	}
	write("10.0.0.5:9443\nftp://x\n")
	if g := got(); !strings.Contains(g, file+":2:") {
		t.Errorf("Load of a bad file: %s; want the file and line", g)
	}
	if _, err := ParsePeers("10.0.0.1:9443,ftp://x"); err == nil {
		t.Error("ParsePeers accepted ftp://x")
	}
}
