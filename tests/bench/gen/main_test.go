package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/schema"
)

func TestRunWritesRepoKeysAndPeers(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is required")
		}
		t.Skip("git not installed")
	}
	out := t.TempDir()
	c := config{out: out, n: 3, domain: "bench.test", backend: "127.0.0.1:3001", peers: true,
		caddyPort: 1001, nginxPort: 1002, haproxyPort: 1003, caddyAdmin: 1004}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	res, err := schema.LoadDir(filepath.Join(out, "repo"))
	if err != nil {
		t.Fatalf("generated repo does not load: %v", err)
	}
	if len(res.Sites) != 3 {
		t.Errorf("repo has %d sites; want 3", len(res.Sites))
	}
	if err := exec.Command("git", "-C", filepath.Join(out, "repo"), "rev-parse", "HEAD").Run(); err != nil {
		t.Errorf("repo has no commit: %v", err)
	}
	for _, tc := range []struct {
		file, want string
		count      int
	}{
		{"hosts.txt", "site00001.bench.test\n", 1},
		{"peers/nginx.conf", "listen 127.0.0.1:1002 ssl http2;", 3},
		{"peers/nginx.conf", "server 127.0.0.1:3001;", 1},
		{"peers/Caddyfile", "https://site00002.bench.test:1001, https://*.site00002.bench.test:1001 {", 1},
		{"peers/Caddyfile", "reverse_proxy 127.0.0.1:3001", 3},
		{"peers/Caddyfile", "\tadmin 127.0.0.1:1004\n", 1},
		{"peers/nginx.conf", "proxy_max_temp_file_size 0;", 1},
		{"peers/haproxy.cfg", "bind 127.0.0.1:1003 ssl crt-list", 1},
		{"peers/crt-list.txt", ".pem\n", 3},
	} {
		b, err := os.ReadFile(filepath.Join(out, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(b), tc.want); got != tc.count {
			t.Errorf("%s holds %q %d times; want %d", tc.file, tc.want, got, tc.count)
		}
	}
	for _, p := range []string{"keys/secret/edge/site00000/key.pem", "peers/certs/site00002.pem"} {
		fi, err := os.Stat(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v; want 0600", p, fi.Mode().Perm())
		}
	}
}

func TestCaddyHeadAdminOff(t *testing.T) {
	if h := caddyHead("/d", 0); !strings.Contains(h, "\tadmin off\n") {
		t.Errorf("caddyHead with no admin port:\n%s\nwant admin off", h)
	}
}
