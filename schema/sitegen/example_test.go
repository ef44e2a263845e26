package sitegen_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
)

var regenExample = flag.Bool("regen-example", false, "regenerate the certificates of examples/config and the keys in examples/keys")

// TestRegenerateExample rewrites examples/config/certs (and the matching test keys in
// examples/keys, laid out for the local key directory) with -regen-example. The site files
// of the example are written by hand.
func TestRegenerateExample(t *testing.T) {
	if !*regenExample {
		t.Skip("run with -regen-example to regenerate examples/config/certs and examples/keys")
	}
	root := filepath.Join("..", "..", "examples")
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	sites := map[string][]string{
		"acme":             {"acme.example.test", "www.acme.example.test"},
		"shops":            {"shops.example.test", "*.shops.example.test"},
		"old-acme":         {"old-acme.example.test"},
		"upstreams-canary": {"canary.example.test"},
		"staff":            {"staff.example.test"},
		"static-docs":      {"docs.example.test"},
	}
	if err := os.MkdirAll(filepath.Join(root, "config", "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "config", "certs", "ca.pem"), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, hosts := range sites {
		l, err := ca.Issue(hosts, testca.ECDSA, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "config", "certs", name+".pem"), l.ChainPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		ref := schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key"}
		if err := sitegen.WriteKey(filepath.Join(root, "keys"), ref, l.KeyPEM); err != nil {
			t.Fatal(err)
		}
	}
}
