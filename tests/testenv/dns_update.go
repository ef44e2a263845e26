package testenv

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"
)

// TSIGKey is a TSIG key a DNS server accepts dynamic updates with.
type TSIGKey struct {
	// Name is the key's name, e.g. "edge-acme".
	Name string
	// Algorithm is its algorithm as knot spells it, e.g. "hmac-sha256".
	Algorithm string
	// Secret is the key's secret in base64, as knot's config and `keymgr -t` write it.
	Secret string
}

// NewTSIGKey returns a key named name with a random 32-byte hmac-sha256 secret.
func NewTSIGKey(name string) TSIGKey {
	b := make([]byte, 32)
	rand.Read(b)
	return TSIGKey{Name: name, Algorithm: "hmac-sha256", Secret: base64.StdEncoding.EncodeToString(b)}
}

// StartDNSUpdates starts knotd as StartDNS does and lets it accept RFC 2136 dynamic
// updates of the zone signed with key (and no others): knot's `acl` with `action: update`
// and `key`. Updates are kept in memory only.
func StartDNSUpdates(t testing.TB, zone string, records map[string][]string, key TSIGKey) *DNSServer {
	t.Helper()
	conf := fmt.Sprintf(`key:
  - id: %s
    algorithm: %s
    secret: %s
acl:
  - id: update
    key: %s
    action: update
`, key.Name, key.Algorithm, key.Secret, key.Name)
	return startKnot(t, zone, records, conf, "    acl: update\n")
}
