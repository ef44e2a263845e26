package testenv

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/hashicorp/vault/api"
)

// EnablePKI mounts Vault's PKI secrets engine at pki/ with a generated root and returns
// the root certificate. Roles are the caller's (pki/roles/<name>).
func (v *Vault) EnablePKI(t testing.TB) *x509.Certificate {
	t.Helper()
	if err := v.Client.Sys().Mount("pki", &api.MountInput{Type: "pki", Config: api.MountConfigInput{MaxLeaseTTL: "87600h"}}); err != nil {
		t.Fatal(err)
	}
	s, err := v.Client.Logical().Write("pki/root/generate/internal", map[string]any{"common_name": "edge test root", "ttl": "87600h"})
	if err != nil {
		t.Fatal(err)
	}
	pemText, _ := s.Data["certificate"].(string)
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		t.Fatal(errors.New("pki/root/generate/internal: no PEM certificate in the answer"))
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return root
}
