package testenv

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
	knotd := "/usr/sbin/knotd"
	if _, err := os.Stat(knotd); err != nil {
		knotd = NeedTool(t, "knotd", "knot")
	}
	dir := t.TempDir()
	d := &DNSServer{Addr: freeUDPAndTCP(t), Zone: zone}
	if err := os.WriteFile(filepath.Join(dir, zone+".zone"), []byte(zoneFile(zone, records)), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(d.Addr)
	conf := fmt.Sprintf(`server:
    rundir: %q
    listen: %s@%s
log:
  - target: stderr
    any: notice
database:
    storage: %q
control:
    listen: %q
key:
  - id: %s
    algorithm: %s
    secret: %s
acl:
  - id: update
    key: %s
    action: update
template:
  - id: default
    storage: %q
    file: "%%s.zone"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: %s.
    acl: update
`, dir, host, port, dir, filepath.Join(dir, "knot.sock"), key.Name, key.Algorithm, key.Secret, key.Name, dir, zone)
	confPath := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	exited := StartProcess(t, "knotd", exec.Command(knotd, "-c", confPath), &d.out)
	d.waitAnswers(t, exited, records)
	return d
}
