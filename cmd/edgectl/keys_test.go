package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testenv"
)

func TestKeysPut(t *testing.T) {
	v := testenv.StartVault(t)
	dir, keyDir := t.TempDir(), t.TempDir()
	repo, err := sitegen.WriteRepo(dir, 2, sitegen.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := repo.Sites[0], repo.Sites[1]
	pt := "package edge\n\nsites: pt: {\n\thosts: [\"pt.example.test\"]\n\tpassthrough: upstreams: [\"127.0.0.1:8443\"]\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "sites", "pt.cue"), []byte(pt), 0o644); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(v.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert0, key0 := write("cert0.pem", s0.Leaf.ChainPEM), write("key0.pem", s0.Leaf.KeyPEM)
	cert1, key1 := write("cert1.pem", s1.Leaf.ChainPEM), write("key1.pem", s1.Leaf.KeyPEM)
	expired, err := repo.CA.Issue(s0.Hosts, "", time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	certExp, keyExp := write("certexp.pem", expired.ChainPEM), write("keyexp.pem", expired.KeyPEM)
	vaultFlags := []string{"--repo", dir, "--vault-addr", v.Addr, "--vault-token-file", tokFile}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{"writes version 1", append([]string{"put", s0.Name, "--cert", cert0, "--key", key0}, vaultFlags...), exitOK, "version 1", ""},
		{"site after flags, version 2", append([]string{"put", "--cert", cert0, "--key", key0, s0.Name}, vaultFlags...), exitOK, "version 2", ""},
		{"key of another cert", append([]string{"put", s0.Name, "--cert", cert0, "--key", key1}, vaultFlags...), exitInvalid, "", "do not form a pair"},
		{"cert of another site", append([]string{"put", s0.Name, "--cert", cert1, "--key", key1}, vaultFlags...), exitInvalid, "", "does not cover host " + s0.Hosts[0]},
		{"expired cert", append([]string{"put", s0.Name, "--cert", certExp, "--key", keyExp}, vaultFlags...), exitInvalid, "", "expired on"},
		{"passthrough site", append([]string{"put", "pt", "--cert", cert0, "--key", key0}, vaultFlags...), exitUsage, "", "pt (sites/pt.cue) is a passthrough site"},
		{"unknown site", append([]string{"put", "nosuch", "--cert", cert0, "--key", key0}, vaultFlags...), exitUsage, "", `no site "nosuch"`},
		{"missing key flag", append([]string{"put", s0.Name, "--cert", cert0}, vaultFlags...), exitUsage, "", "need SITE, --cert and --key"},
		{"key file is not a key", append([]string{"put", s0.Name, "--cert", cert0, "--key", cert0}, vaultFlags...), exitUsage, "", "no PEM private key"},
		{"no subcommand", []string{"get"}, exitUsage, "", "usage: edgectl keys put"},
		{"vault unreachable", []string{"put", s0.Name, "--cert", cert0, "--key", key0, "--repo", dir, "--vault-addr", "http://127.0.0.1:1", "--vault-token-file", tokFile, "--timeout", "2s"}, exitUsage, "", "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"keys"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
			for _, k := range [][]byte{s0.Leaf.KeyPEM, s1.Leaf.KeyPEM, expired.KeyPEM} {
				body := bytes.Split(k, []byte("\n"))[1]
				if bytes.Contains(stdout.Bytes(), body) || bytes.Contains(stderr.Bytes(), body) {
					t.Fatal("output contains key material")
				}
			}
		})
	}

	// After `vault login`, the operator's token is in ~/.vault-token: no flag, no variable.
	t.Run("token from ~/.vault-token", func(t *testing.T) {
		home := t.TempDir()
		if err := os.WriteFile(filepath.Join(home, ".vault-token"), []byte(v.Token), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("HOME", home)
		t.Setenv("VAULT_TOKEN", "")
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"keys", "put", s1.Name, "--cert", cert1, "--key", key1, "--repo", dir, "--vault-addr", v.Addr}, &stdout, &stderr)
		if code != exitOK || !strings.Contains(stdout.String(), "version 1") {
			t.Fatalf("exit %d, stdout %q, stderr %q; want the key written with the CLI's token", code, stdout.String(), stderr.String())
		}
	})

	// Read back what was written, as an agent would.
	vk, err := keysource.NewVault(context.Background(), keysource.VaultConfig{Address: v.Addr, Token: v.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer vk.Close()
	k, err := vk.Fetch(context.Background(), s0.Site.Key)
	if err != nil || !bytes.Equal(k.PEM, s0.Leaf.KeyPEM) || k.Version != 2 {
		t.Fatalf("read back: version %d, same key %v, err %v; want version 2 and the key put", k.Version, bytes.Equal(k.PEM, s0.Leaf.KeyPEM), err)
	}
}

// Rotating the key of a site whose committed certificate has already expired: the repo still
// loads (the expiry is what is being fixed) and the notes say what else to commit.
func TestKeysPutRotatesExpiredSite(t *testing.T) {
	v := testenv.StartVault(t)
	dir := t.TempDir()
	repo, err := sitegen.WriteRepo(dir, 1, sitegen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{"old.example.test"}
	old, err := sitegen.WriteSite(dir, sitegen.Site{Name: "old", Hosts: hosts, Upstreams: []string{"http://127.0.0.1:3001"},
		NotAfter: time.Now().Add(-time.Hour)}, sitegen.Options{CA: repo.CA})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := repo.CA.Issue(hosts, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	cert, key := filepath.Join(files, "c.pem"), filepath.Join(files, "k.pem")
	tok := filepath.Join(files, "tok")
	for p, b := range map[string][]byte{cert: fresh.ChainPEM, key: fresh.KeyPEM, tok: []byte(v.Token)} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"keys", "put", "old", "--cert", cert, "--key", key, "--repo", dir,
		"--vault-addr", v.Addr, "--vault-token-file", tok}, &stdout, &stderr)
	if code != exitOK || !strings.Contains(stdout.String(), "version 1") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and version 1", code, stdout.String(), stderr.String())
	}
	if want := "is not the certificate in " + old.CertFile; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr %q; want a note containing %q", stderr.String(), want)
	}
}
