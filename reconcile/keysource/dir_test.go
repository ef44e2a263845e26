package keysource_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// ktKeyPEM returns a fresh P-256 private key in PKCS#8 PEM form.
func ktKeyPEM(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// ktAssertNoKey fails if err's text contains pemBytes or any line of it.
func ktAssertNoKey(t testing.TB, err error, pemBytes []byte) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, line := range bytes.Split(pemBytes, []byte("\n")) {
		if len(line) > 16 && !bytes.HasPrefix(line, []byte("-----")) && strings.Contains(msg, string(line)) {
			t.Fatalf("error leaks key material: %v", err)
		}
	}
}

var ktRef = schema.KeyRef{Mount: "secret", Path: "edge/acme.example", Field: "key"}

func ktKeyDir(t *testing.T) (string, keysource.Dir) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, keysource.Dir{Dir: dir}
}

func TestDirKeysLayout(t *testing.T) {
	dir, d := ktKeyDir(t)
	want := ktKeyPEM(t)
	if err := d.Put(ktRef, want); err != nil {
		t.Fatal(err)
	}
	file, err := keysource.KeyFile(dir, ktRef)
	if err != nil {
		t.Fatal(err)
	}
	if wantFile := filepath.Join(dir, "secret", "edge", "acme.example", "key.pem"); file != wantFile {
		t.Fatalf("KeyFile = %s; want %s", file, wantFile)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("Put wrote %v (err %v); want mode 0600", fi.Mode(), err)
	}
	pinned := ktRef
	pinned.Version = 7
	for _, ref := range []schema.KeyRef{ktRef, pinned} {
		k, err := d.Fetch(context.Background(), ref)
		if err != nil {
			t.Fatalf("Fetch(%v): %v", ref, err)
		}
		if !bytes.Equal(k.PEM, want) || k.Version != 0 {
			t.Fatalf("Fetch(%v) = %d bytes, version %d; want the key written, version 0", ref, len(k.PEM), k.Version)
		}
	}
}

func TestDirKeysNotFound(t *testing.T) {
	_, d := ktKeyDir(t)
	_, err := d.Fetch(context.Background(), ktRef)
	if !errors.Is(err, keysource.ErrNotFound) {
		t.Fatalf("err = %v; want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "secret/edge/acme.example#key") {
		t.Fatalf("err = %v; want it to name the reference", err)
	}
}

func TestDirKeysRefusesOpenPermissions(t *testing.T) {
	tests := []struct {
		name     string
		chmod    func(dir, file string) (string, os.FileMode) // returns the path it opened up
		wantFix  string
		wantMode string
	}{
		{"file readable by others", func(dir, file string) (string, os.FileMode) { return file, 0o644 }, "chmod 600", "0644"},
		{"file writable by group", func(dir, file string) (string, os.FileMode) { return file, 0o620 }, "chmod 600", "0620"},
		{"key dir readable by others", func(dir, file string) (string, os.FileMode) { return dir, 0o755 }, "chmod 700", "0755"},
		{"sub dir readable by group", func(dir, file string) (string, os.FileMode) { return filepath.Join(dir, "secret", "edge"), 0o750 }, "chmod 700", "0750"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, d := ktKeyDir(t)
			key := ktKeyPEM(t)
			if err := d.Put(ktRef, key); err != nil {
				t.Fatal(err)
			}
			file, _ := keysource.KeyFile(dir, ktRef)
			p, mode := tt.chmod(dir, file)
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			_, err := d.Fetch(context.Background(), ktRef)
			if err == nil {
				t.Fatalf("Fetch succeeded with %s at mode %04o; want a refusal", p, mode)
			}
			for _, want := range []string{p, tt.wantMode, tt.wantFix + " " + p} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v; want it to contain %q", err, want)
				}
			}
			ktAssertNoKey(t, err, key)
		})
	}
}

func TestDirKeysRefusesEscapes(t *testing.T) {
	outside := t.TempDir()
	key := ktKeyPEM(t)
	if err := os.WriteFile(filepath.Join(outside, "key.pem"), key, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("symlinked file", func(t *testing.T) {
		dir, d := ktKeyDir(t)
		sub := filepath.Join(dir, "secret", "edge", "acme.example")
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(outside, "key.pem"), filepath.Join(sub, "key.pem")); err != nil {
			t.Fatal(err)
		}
		_, err := d.Fetch(context.Background(), ktRef)
		if err == nil || !strings.Contains(err.Error(), "outside the key directory") {
			t.Fatalf("err = %v; want a refusal of the escaping symlink", err)
		}
	})
	t.Run("symlinked dir", func(t *testing.T) {
		dir, d := ktKeyDir(t)
		if err := os.MkdirAll(filepath.Join(dir, "secret", "edge"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "secret", "edge", "acme.example")); err != nil {
			t.Fatal(err)
		}
		_, err := d.Fetch(context.Background(), ktRef)
		if err == nil || !strings.Contains(err.Error(), "outside the key directory") {
			t.Fatalf("err = %v; want a refusal of the escaping symlink", err)
		}
	})
	t.Run("symlink inside is fine", func(t *testing.T) {
		dir, d := ktKeyDir(t)
		other := ktRef
		other.Path = "edge/other.example"
		if err := d.Put(other, key); err != nil {
			t.Fatal(err)
		}
		// Relative: os.Root resolves absolute link targets from "/" and so refuses them.
		if err := os.Symlink("other.example", filepath.Join(dir, "secret", "edge", "acme.example")); err != nil {
			t.Fatal(err)
		}
		k, err := d.Fetch(context.Background(), ktRef)
		if err != nil || !bytes.Equal(k.PEM, key) {
			t.Fatalf("Fetch through an inside symlink = %v; want the key", err)
		}
	})
}

func TestDirKeysBadInput(t *testing.T) {
	dir, d := ktKeyDir(t)
	tests := []struct {
		name string
		ref  schema.KeyRef
		want string
	}{
		{"dotdot path", schema.KeyRef{Mount: "secret", Path: "../../etc", Field: "key"}, `".."`},
		{"empty field", schema.KeyRef{Mount: "secret", Path: "edge/a", Field: ""}, "empty field"},
		{"slash in field", schema.KeyRef{Mount: "secret", Path: "edge/a", Field: "a/b"}, `contains "/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Fetch(context.Background(), tt.ref)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want it to contain %s", err, tt.want)
			}
		})
	}
	t.Run("not a PEM key", func(t *testing.T) {
		secret := "SUPER-SECRET-NOT-PEM-CONTENT-1234567890"
		file, _ := keysource.KeyFile(dir, ktRef)
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := d.Fetch(context.Background(), ktRef)
		if err == nil || !strings.Contains(err.Error(), "no PEM block") {
			t.Fatalf("err = %v; want a no-PEM error", err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error leaks the file content: %v", err)
		}
	})
}

// BenchmarkDirKeysFetch reads one key file (permission checks included) per op.
func BenchmarkDirKeysFetch(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	d := keysource.Dir{Dir: dir}
	if err := d.Put(ktRef, ktKeyPEM(b)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := d.Fetch(context.Background(), ktRef); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDirKeysOpenSSLECKey: `openssl ecparam -genkey` writes an EC PARAMETERS block before
// the key; the key source accepts what crypto/tls (and the compiler) accept.
func TestDirKeysOpenSSLECKey(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl not found on PATH (Debian package openssl; .ci/run installs it): %v", err)
	}
	dir, d := ktKeyDir(t)
	file, _ := keysource.KeyFile(dir, ktRef)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(openssl, "ecparam", "-name", "prime256v1", "-genkey", "-out", file).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(file)
	if !bytes.HasPrefix(raw, []byte("-----BEGIN EC PARAMETERS-----")) {
		t.Fatalf("test needs the EC PARAMETERS block first:\n%.40s", raw)
	}
	k, err := d.Fetch(context.Background(), ktRef)
	if err != nil || !bytes.Equal(k.PEM, raw) {
		t.Fatalf("Fetch = %v; want the file's key", err)
	}
}

// TestDirKeysParsedOnce: a fetched key carries its parse (Signer, the same key as PEM's) and
// is held in a buffer of its own size.
func TestDirKeysParsedOnce(t *testing.T) {
	_, d := ktKeyDir(t)
	want := ktKeyPEM(t)
	if err := d.Put(ktRef, want); err != nil {
		t.Fatal(err)
	}
	k, err := d.Fetch(context.Background(), ktRef)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := keysource.ParsePrivateKey(want)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := parsed.Public().(interface{ Equal(crypto.PublicKey) bool })
	if k.Signer == nil || !ok || !pub.Equal(k.Signer.Public()) {
		t.Fatalf("Signer %T: want the key of the PEM", k.Signer)
	}
	if !bytes.Equal(k.PEM, want) || cap(k.PEM) > len(k.PEM)+len(k.PEM)/4 {
		t.Fatalf("PEM: %d bytes in a buffer of %d; want the key in one of about its size", len(k.PEM), cap(k.PEM))
	}
}
