package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testenv"
)

// The tests of this file run agent binaries with an ACME issuer answering dns-01 through
// RFC 2136 updates to a real knot (TSIG secret in a real Vault), Pebble resolving through
// that knot.

// TestDNS01WildcardSite: a commit adds a site for "*.w.test" and "w.test" whose ACME
// issuer answers dns-01 with RFC 2136 updates to a real knot, signed with a TSIG key whose
// secret is in Vault; Pebble resolves through that knot. Of two agents one orders (Pebble
// sees one order), both serve the wildcard certificate for a name under it and the apex.
func TestDNS01WildcardSite(t *testing.T) {
	t.Parallel()
	key := testenv.NewTSIGKey("edge-acme")
	dns := testenv.StartDNSUpdates(t, "w.test", map[string][]string{"ns": {"127.0.0.1"}}, key)
	pebble := testenv.StartPebble(t, testenv.PebbleOptions{DNSServer: dns.Addr})
	f := startIssueFleet(t, fmt.Sprintf(`package edge

issuers: wild: acme: {
	directory: %q
	email: "ops@w.test"
	challenges: ["dns-01"]
	dns01: {server: %q, zone: "w.test", tsig: {name: %q, algorithm: %q, secret: {path: "edge/tsig", field: "secret"}}}
}
`, pebble.DirectoryURL, dns.Addr, key.Name, key.Algorithm), "edge-policy.hcl")
	f.vault.PutKV(t, "secret", "edge/tsig", map[string]any{"secret": key.Secret})
	port := portOf(sharedPortAddrs(t, acmeIPA, acmeIPB)[0])
	a := f.startAgent(acmeIPA, port, "", "--acme-ca-file", pebble.TLSCAFile)
	b := f.startAgent(acmeIPB, port, "", "--acme-ca-file", pebble.TLSCAFile)
	start := f.addSite("wild", "wild", "*.w.test", "w.test")
	roots := pebble.Roots(t)
	serial := waitServedBy(a, "api.w.test", roots)
	t.Logf("figure: DNS-01, commit to served with a fresh wildcard certificate: %v", time.Since(start).Round(time.Millisecond))
	for _, host := range []string{"api.w.test", "w.test"} {
		for _, p := range []*agentProc{a, b} {
			if s := waitServedBy(p, host, roots); s != serial {
				t.Fatalf("%s served with serial %s; want %s, the one certificate", host, s, serial)
			}
		}
	}
	if n := pebble.Orders(); n != 1 {
		t.Fatalf("Pebble saw %d orders; want 1", n)
	}
	if n := a.counter(`edge_issue_attempts_total{issuer="wild"}`) + b.counter(`edge_issue_attempts_total{issuer="wild"}`); n != 1 {
		t.Fatalf("agents counted %v attempts; want 1", n)
	}
	if txt, err := dns.Resolver().LookupTXT(context.Background(), "_acme-challenge.w.test"); len(txt) != 0 {
		t.Fatalf("challenge records left in the zone after the order: %q (%v)", txt, err)
	}
	if out := a.out.String() + b.out.String(); strings.Contains(out, key.Secret) {
		t.Fatal("agent output contains the TSIG secret")
	}
}

// TestDNS01WrongTSIGSecretReported: with a wrong TSIG secret in Vault, knot refuses the
// updates: the wildcard site is not served and is reported failed with the reason (not the
// secret) and the next attempt; once the right secret is in Vault, it is issued by itself.
func TestDNS01WrongTSIGSecretReported(t *testing.T) {
	t.Parallel()
	key := testenv.NewTSIGKey("edge-acme")
	dns := testenv.StartDNSUpdates(t, "w.test", map[string][]string{"ns": {"127.0.0.1"}}, key)
	pebble := testenv.StartPebble(t, testenv.PebbleOptions{DNSServer: dns.Addr})
	f := startIssueFleet(t, fmt.Sprintf(`package edge

issuers: wild: acme: {
	directory: %q
	challenges: ["dns-01"]
	dns01: {server: %q, tsig: {name: %q, secret: {path: "edge/tsig", field: "secret"}}}
}
`, pebble.DirectoryURL, dns.Addr, key.Name), "edge-policy.hcl")
	wrong := testenv.NewTSIGKey("edge-acme").Secret
	f.vault.PutKV(t, "secret", "edge/tsig", map[string]any{"secret": wrong})
	a := f.startAgent(acmeIPA, portOf(freeAddr(t)), "", "--acme-ca-file", pebble.TLSCAFile)
	f.addSite("wild", "wild", "*.w.test")
	var st *issue.SiteStatus
	a.waitFor("a failed order reported", time.Minute, func() bool {
		st = issueState(a, "wild")
		return st != nil && st.State == issue.StateFailed && !st.NextAttempt.IsZero()
	})
	t.Logf("reported: %s (next attempt %s)", st.Reason, st.NextAttempt.Format(time.RFC3339))
	if !strings.Contains(st.Reason, "dns-01") && !strings.Contains(strings.ToLower(st.Reason), "tsig") {
		t.Errorf("reason %q; want it to say the dns-01 update failed", st.Reason)
	}
	if _, err := served(a, "api.w.test", nil); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Fatalf("handshake for the unissued site: %v; want refused as an unknown name", err)
	}
	f.vault.PutKV(t, "secret", "edge/tsig", map[string]any{"secret": key.Secret})
	waitServedBy(a, "api.w.test", pebble.Roots(t))
	if out := a.out.String() + fmt.Sprint(a.status()); strings.Contains(out, key.Secret) || strings.Contains(out, wrong) {
		t.Fatal("agent output or status contains a TSIG secret")
	}
}
