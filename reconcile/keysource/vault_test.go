package keysource_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/tests/testenv"
)

// ktEdgePolicy lets a token read the edge keys and nothing else (like examples/vault).
const ktEdgePolicy = `path "secret/data/edge/*" { capabilities = ["read"] }`

// ktNewVaultKeys builds a Vault closed when the test ends.
func ktNewVaultKeys(t testing.TB, cfg keysource.VaultConfig) *keysource.Vault {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	vk, err := keysource.NewVault(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vk.Close() })
	return vk
}

func TestVaultKeysFetch(t *testing.T) {
	v := testenv.StartVault(t)
	key1, key2 := ktKeyPEM(t), ktKeyPEM(t)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key1), "note": "v1"})
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key2), "note": "v2"})
	v.PutKV(t, "secret", "edge/gone.example", map[string]any{"key": string(key1)})
	if err := v.Client.KVv2("secret").DeleteVersions(context.Background(), "edge/gone.example", []int{1}); err != nil {
		t.Fatal(err)
	}
	v.PutKV(t, "secret", "edge/odd.example", map[string]any{"key": 42, "text": "SECRET-NOT-A-PEM-0123456789"})

	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, Token: v.Token})
	ref := func(path, field string, version int) schema.KeyRef {
		return schema.KeyRef{Mount: "secret", Path: path, Field: field, Version: version}
	}
	tests := []struct {
		name        string
		ref         schema.KeyRef
		wantKey     []byte
		wantVersion int
		wantErr     error  // errors.Is target
		wantMsg     string // substring of the error
	}{
		{"latest", ref("edge/acme.example", "key", 0), key2, 2, nil, ""},
		{"pinned", ref("edge/acme.example", "key", 1), key1, 1, nil, ""},
		{"pinned latest", ref("edge/acme.example", "key", 2), key2, 2, nil, ""},
		{"missing version", ref("edge/acme.example", "key", 9), nil, 0, keysource.ErrNotFound, "secret/edge/acme.example#key@v9"},
		{"missing path", ref("edge/none.example", "key", 0), nil, 0, keysource.ErrNotFound, "secret/edge/none.example#key"},
		{"missing field", ref("edge/acme.example", "cert", 0), nil, 0, keysource.ErrNotFound, `no field "cert"`},
		{"deleted version", ref("edge/gone.example", "key", 0), nil, 0, keysource.ErrNotFound, "deleted"},
		{"missing mount", schema.KeyRef{Mount: "nosuch", Path: "edge/acme.example", Field: "key"}, nil, 0, keysource.ErrNotFound, "nosuch/edge/acme.example#key"},
		{"not a string", ref("edge/odd.example", "key", 0), nil, 0, nil, "want a PEM string"},
		{"not a PEM", ref("edge/odd.example", "text", 0), nil, 0, nil, "no PEM block"},
		{"empty field", ref("edge/acme.example", "", 0), nil, 0, nil, "empty field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := vk.Fetch(context.Background(), tt.ref)
			ktAssertNoKey(t, err, key1)
			ktAssertNoKey(t, err, key2)
			if err != nil && strings.Contains(err.Error(), "SECRET-NOT-A-PEM") {
				t.Fatalf("error leaks the field's content: %v", err)
			}
			if tt.wantKey != nil {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if !bytes.Equal(k.PEM, tt.wantKey) || k.Version != tt.wantVersion {
					t.Fatalf("Fetch = version %d, same key %v; want version %d, same key true", k.Version, bytes.Equal(k.PEM, tt.wantKey), tt.wantVersion)
				}
				return
			}
			if err == nil {
				t.Fatalf("Fetch succeeded (version %d); want an error", k.Version)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v; want errors.Is %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && errors.Is(err, keysource.ErrNotFound) {
				t.Errorf("err = %v; want not ErrNotFound", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v; want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestVaultKeysPut(t *testing.T) {
	v := testenv.StartVault(t)
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, Token: v.Token})
	ctx := context.Background()
	ref := schema.KeyRef{Mount: "secret", Path: "edge/new.example", Field: "key"}

	key1, key2 := ktKeyPEM(t), ktKeyPEM(t)
	if ver, err := vk.Put(ctx, ref, key1); err != nil || ver != 1 {
		t.Fatalf("Put new = %d, %v; want version 1", ver, err)
	}
	// Another field written by someone else must survive the next Put.
	s, err := v.Client.KVv2("secret").Patch(ctx, "edge/new.example", map[string]any{"owner": "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	if ver, err := vk.Put(ctx, ref, key2); err != nil || ver != s.VersionMetadata.Version+1 {
		t.Fatalf("Put again = %d, %v; want version %d", ver, err, s.VersionMetadata.Version+1)
	}
	got, err := v.Client.KVv2("secret").Get(ctx, "edge/new.example")
	if err != nil || got.Data["owner"] != "team-a" || got.Data["key"] != string(key2) {
		t.Fatalf("secret after Put: owner=%v, new key=%v, err=%v; want owner team-a and the new key", got.Data["owner"], got.Data["key"] == string(key2), err)
	}
	k, err := vk.Fetch(ctx, ref)
	if err != nil || !bytes.Equal(k.PEM, key2) {
		t.Fatalf("Fetch after Put: %v", err)
	}

	_, err = vk.Put(ctx, ref, []byte("SECRET-GARBAGE-0123456789"))
	if err == nil || strings.Contains(err.Error(), "SECRET-GARBAGE") {
		t.Fatalf("Put of a non-PEM = %v; want a refusal that does not quote the input", err)
	}
}

func TestVaultKeysTokenFile(t *testing.T) {
	v := testenv.StartVault(t)
	v.WritePolicy(t, "edge", ktEdgePolicy)
	key := ktKeyPEM(t)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key)})
	file := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		t.Helper()
		// Write and rename, as Vault Agent's file sink does.
		if err := os.WriteFile(file+".tmp", []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, TokenFile: file})
	ctx := context.Background()

	t1 := v.CreateToken(t, []string{"edge"}, nil)
	write(t1)
	if _, err := vk.Fetch(ctx, ktRef); err != nil {
		t.Fatalf("fetch with token 1: %v", err)
	}
	// A token without the policy replaces a still-valid one: the file is re-read.
	write(v.CreateToken(t, []string{"default"}, nil))
	_, err := vk.Fetch(ctx, ktRef)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("fetch with a policy-less token: %v; want 403 (the rotated file must be re-read)", err)
	}
	t2 := v.CreateToken(t, []string{"edge"}, nil)
	write(t2)
	if _, err := vk.Fetch(ctx, ktRef); err != nil {
		t.Fatalf("fetch with token 2: %v", err)
	}
	// Revoked but not replaced: refused, and the error says so.
	if err := v.Client.Auth().Token().RevokeTree(t2); err != nil {
		t.Fatal(err)
	}
	if _, err := vk.Fetch(ctx, ktRef); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("fetch with a revoked token: %v; want 403", err)
	}
	write(v.CreateToken(t, []string{"edge"}, nil))
	if _, err := vk.Fetch(ctx, ktRef); err != nil {
		t.Fatalf("fetch with token 3: %v", err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if _, err := vk.Fetch(ctx, ktRef); err == nil || !strings.Contains(err.Error(), "token file") {
		t.Fatalf("fetch without a token file: %v; want a token file error", err)
	}
}

func TestVaultKeysAppRoleRenewAndRelogin(t *testing.T) {
	v := testenv.StartVault(t)
	v.WritePolicy(t, "edge", ktEdgePolicy)
	key := ktKeyPEM(t)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key)})
	roleID, secretID := v.CreateAppRole(t, "edge", []string{"edge"}, map[string]any{"token_ttl": "3s", "token_max_ttl": "6s"})
	sidFile := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(sidFile, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}
	p := ktStartProxy(t, v.Addr)
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: p.URL, AppRole: keysource.AppRole{RoleID: roleID, SecretIDFile: sidFile}})

	// Fetch for 10s, well past the 6s max TTL of any one token.
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		k, err := vk.Fetch(ctx, ktRef)
		if err != nil {
			t.Fatalf("fetch %d: %v", n, err)
		}
		if !bytes.Equal(k.PEM, key) {
			t.Fatalf("fetch %d: wrong key", n)
		}
		n++
		time.Sleep(250 * time.Millisecond)
	}
	logins, renewals := p.count("/v1/auth/approle/login"), p.count("/v1/auth/token/renew-self")
	t.Logf("%d fetches over 10s: %d logins, %d renewals", n, logins, renewals)
	if logins < 2 {
		t.Errorf("logins = %d; want >= 2 (a new login after the 6s max TTL)", logins)
	}
	if renewals < 1 {
		t.Errorf("renewals = %d; want >= 1 (the 3s token renewed before its max TTL)", renewals)
	}
	if p.status(http.StatusForbidden) > 0 {
		t.Errorf("%d requests were refused with 403; want the token replaced before it expires", p.status(http.StatusForbidden))
	}
}

func TestVaultKeysStaticTokenRenewed(t *testing.T) {
	v := testenv.StartVault(t)
	v.WritePolicy(t, "edge", ktEdgePolicy)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(ktKeyPEM(t))})
	tok := v.CreateToken(t, []string{"edge", "default"}, map[string]any{"ttl": "2s", "renewable": true})
	p := ktStartProxy(t, v.Addr)
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: p.URL, Token: tok})
	deadline := time.Now().Add(5 * time.Second) // 2.5 times the token's TTL
	for time.Now().Before(deadline) {
		if _, err := vk.Fetch(context.Background(), ktRef); err != nil {
			t.Fatalf("fetch: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n := p.count("/v1/auth/token/renew-self"); n < 1 {
		t.Fatalf("renewals = %d; want >= 1 (a 2s renewable token used for 5s)", n)
	}
}

func TestVaultKeysAppRoleBadSecretID(t *testing.T) {
	v := testenv.StartVault(t)
	roleID, _ := v.CreateAppRole(t, "edge", []string{"default"}, nil)
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, AppRole: keysource.AppRole{RoleID: roleID, SecretID: "00000000-0000-0000-0000-000000000000"}})
	_, err := vk.Fetch(context.Background(), ktRef)
	if err == nil || !strings.Contains(err.Error(), "approle login") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("err = %v; want a refused approle login (400)", err)
	}
}

func TestVaultKeysVaultDownAndBack(t *testing.T) {
	v := testenv.StartVault(t)
	key := ktKeyPEM(t)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key)})
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, Token: v.Token, Attempts: 3})
	many := ktNewVaultKeys(t, keysource.VaultConfig{Address: v.Addr, Token: v.Token, Attempts: 1000})
	ctx := context.Background()
	if _, err := vk.Fetch(ctx, ktRef); err != nil {
		t.Fatal(err)
	}

	v.Stop()
	_, err := vk.Fetch(ctx, ktRef)
	if err == nil || errors.Is(err, keysource.ErrNotFound) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("fetch with vault down (3 attempts): %v; want connection refused", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = many.Fetch(cctx, ktRef)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("fetch with vault down (1000 attempts, 500ms context): %v; want the deadline, naming the last error", err)
	}

	v.Restart(t) // a dev server comes back empty: write the key again
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key)})
	for _, s := range []*keysource.Vault{vk, many} {
		if k, err := s.Fetch(ctx, ktRef); err != nil || !bytes.Equal(k.PEM, key) {
			t.Fatalf("fetch after restart: %v", err)
		}
	}
}

func TestVaultKeysRetriesServerErrors(t *testing.T) {
	v := testenv.StartVault(t)
	key := ktKeyPEM(t)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key)})
	p := ktStartProxy(t, v.Addr)
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: p.URL, Token: v.Token, Attempts: 3})
	ctx := context.Background()

	p.fail.Store(2) // the next two requests get 503: the third attempt succeeds
	if _, err := vk.Fetch(ctx, ktRef); err != nil {
		t.Fatalf("fetch through two 503s: %v", err)
	}
	before := p.count("/v1/secret/data/edge/acme.example")
	p.fail.Store(100)
	_, err := vk.Fetch(ctx, ktRef)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("fetch through persistent 503s: %v; want a 503 error", err)
	}
	if got := p.count("/v1/secret/data/edge/acme.example") - before; got != 3 {
		t.Fatalf("attempts = %d; want 3", got)
	}
}

func TestVaultKeysConcurrencyLimit(t *testing.T) {
	v := testenv.StartVault(t)
	key := ktKeyPEM(t)
	v.PutKV(t, "secret", "edge/acme.example", map[string]any{"key": string(key)})
	p := ktStartProxy(t, v.Addr)
	p.delay = 20 * time.Millisecond
	vk := ktNewVaultKeys(t, keysource.VaultConfig{Address: p.URL, Token: v.Token, Concurrency: 4})

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := vk.Fetch(context.Background(), ktRef); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if m := p.maxInFlight.Load(); m > 4 || m < 2 {
		t.Fatalf("max requests in flight = %d; want 2..4 (limit 4, 40 callers)", m)
	}
}

// ktProxy is a reverse proxy in front of a real Vault that counts requests by path and
// status, tracks KV requests in flight, and can delay requests or answer 503 (a fault a healthy
// dev server cannot produce on demand).
type ktProxy struct {
	URL         string
	delay       time.Duration
	fail        atomic.Int64 // answer 503 to this many next requests
	inFlight    atomic.Int64
	maxInFlight atomic.Int64

	mu       sync.Mutex
	paths    map[string]int
	statuses map[int]int
}

func ktStartProxy(t testing.TB, target string) *ktProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &ktProxy{paths: map[string]int{}, statuses: map[int]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		p.mu.Lock()
		p.statuses[r.StatusCode]++
		p.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/secret/") { // KV requests only: see VaultConfig.Concurrency
			n := p.inFlight.Add(1)
			defer p.inFlight.Add(-1)
			for {
				m := p.maxInFlight.Load()
				if n <= m || p.maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
		}
		p.mu.Lock()
		p.paths[r.URL.Path]++
		p.mu.Unlock()
		if p.delay > 0 {
			time.Sleep(p.delay)
		}
		if p.fail.Add(-1) >= 0 {
			http.Error(w, `{"errors":["injected fault"]}`, http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *ktProxy) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paths[path]
}

func (p *ktProxy) status(code int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statuses[code]
}

func TestNewVaultKeysNeedsCredentials(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "")
	_, err := keysource.NewVault(context.Background(), keysource.VaultConfig{Address: "http://127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Fatalf("err = %v; want a no-credentials error", err)
	}
	t.Setenv("VAULT_TOKEN", "from-env")
	if _, err := keysource.NewVault(context.Background(), keysource.VaultConfig{Address: "http://127.0.0.1:1"}); err != nil {
		t.Fatalf("with VAULT_TOKEN set: %v", err)
	}
}
