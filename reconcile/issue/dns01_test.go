package issue_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testenv"
)

var (
	_ acmez.Solver = (*issue.RFC2136Solver)(nil)
	_ acmez.Waiter = (*issue.RFC2136Solver)(nil)
)

// dnsChallenge is a DNS-01 challenge for name with key authorization ka.
func dnsChallenge(name, ka string) acme.Challenge {
	return acme.Challenge{Type: acme.ChallengeTypeDNS01, Token: "token", KeyAuthorization: ka,
		Identifier: acme.Identifier{Type: "dns", Value: name}}
}

// newSolver returns a solver for d's zone signing with key, with short timeouts.
func newSolver(t *testing.T, server, zone string, key testenv.TSIGKey) *issue.RFC2136Solver {
	t.Helper()
	secret, err := issue.DecodeTSIGSecret(key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := issue.NewRFC2136Solver(issue.RFC2136Config{Server: server, Zone: zone, TSIGName: key.Name,
		TSIGAlgorithm: key.Algorithm, TSIGSecret: secret, TTL: time.Second, Timeout: 5 * time.Second,
		PropagationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// txt returns the TXT values the server answers for name.
func txt(t *testing.T, d *testenv.DNSServer, name string) []string {
	t.Helper()
	vals, err := d.Resolver().LookupTXT(context.Background(), name)
	if dnsErr, ok := err.(*net.DNSError); ok && dnsErr.IsNotFound {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(vals)
	return vals
}

// TestRFC2136Solver adds and removes challenge records in a real knot through TSIG-signed
// dynamic updates; wrong keys are refused; a server down is an error.
func TestRFC2136Solver(t *testing.T) {
	t.Parallel()
	key := testenv.NewTSIGKey("edge-acme")
	d := testenv.StartDNSUpdates(t, "acme.test", map[string][]string{"www": {"127.0.0.1"}}, key)
	s := newSolver(t, d.Addr, d.Zone, key)
	ctx := context.Background()
	bare, wild := dnsChallenge("www.acme.test", "a.b"), dnsChallenge("www.acme.test", "c.d")
	name := "_acme-challenge.www.acme.test"

	for _, ch := range []acme.Challenge{bare, wild} {
		if err := s.Present(ctx, ch); err != nil {
			t.Fatal(err)
		}
		if err := s.Wait(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{bare.DNS01KeyAuthorization(), wild.DNS01KeyAuthorization()}
	slices.Sort(want)
	if got := txt(t, d, name); !slices.Equal(got, want) {
		t.Fatalf("TXT %s = %q, want both challenges' %q", name, got, want)
	}
	if err := s.CleanUp(ctx, bare); err != nil {
		t.Fatal(err)
	}
	if got := txt(t, d, name); !slices.Equal(got, []string{wild.DNS01KeyAuthorization()}) {
		t.Fatalf("after one cleanup TXT %s = %q, want the other challenge's only", name, got)
	}
	if err := s.CleanUp(ctx, wild); err != nil {
		t.Fatal(err)
	}
	if got := txt(t, d, name); len(got) != 0 {
		t.Fatalf("after cleanup TXT %s = %q, want none", name, got)
	}

	t.Run("zone found by SOA", func(t *testing.T) {
		found := newSolver(t, d.Addr, "", key)
		ch := dnsChallenge("deep.sub.acme.test", "z.z")
		if err := found.Present(ctx, ch); err != nil {
			t.Fatal(err)
		}
		if got := txt(t, d, "_acme-challenge.deep.sub.acme.test"); !slices.Equal(got, []string{ch.DNS01KeyAuthorization()}) {
			t.Errorf("TXT = %q after Present with the zone found by SOA", got)
		}
		if err := found.CleanUp(ctx, ch); err != nil {
			t.Fatal(err)
		}
		err := found.Present(ctx, dnsChallenge("www.example.com", "y.y"))
		if err == nil || !strings.Contains(err.Error(), "serves no zone") {
			t.Errorf("a name in no zone of the server: %v", err)
		}
	})
	t.Run("refused", func(t *testing.T) { testDNS01Refused(t, d, key) })
}

// TestTSIGSecretFromVault reads a TSIG secret from the real Vault as the agent does.
func TestTSIGSecretFromVault(t *testing.T) {
	t.Parallel()
	v := testenv.StartVault(t)
	key := testenv.NewTSIGKey("edge-acme")
	v.PutKV(t, "secret", "edge/_dns/acme-test", map[string]any{"tsig": key.Secret + "\n", "bad": "%%%"})
	ctx := context.Background()
	got, err := issue.TSIGSecretFromVault(ctx, v.Client, "secret", "edge/_dns/acme-test", "tsig")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := issue.DecodeTSIGSecret(key.Secret)
	if !slices.Equal(got, want) || len(got) != 32 {
		t.Errorf("secret of %d bytes, not the stored one", len(got))
	}
	for _, c := range []struct{ path, field, want string }{
		{"edge/_dns/none", "tsig", "no such secret"},
		{"edge/_dns/acme-test", "other", "no such string field"},
		{"edge/_dns/acme-test", "bad", "not base64"},
	} {
		_, err := issue.TSIGSecretFromVault(ctx, v.Client, "secret", c.path, c.field)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "secret/"+c.path+"#"+c.field) {
			t.Errorf("%s#%s: %v, want %q naming the ref", c.path, c.field, err, c.want)
		}
	}
}

// testDNS01Refused: a wrong secret, an unknown key and a name outside the zone are refused
// and change nothing; a server down is an error. No error shows a secret.
func testDNS01Refused(t *testing.T, d *testenv.DNSServer, key testenv.TSIGKey) {
	ctx := context.Background()
	ch := dnsChallenge("api.acme.test", "e.f")
	wrongSecret := testenv.NewTSIGKey(key.Name)
	otherKey := key
	otherKey.Name = "intruder"
	down := testenv.DeadAddr(t)
	cases := []struct {
		name, server, zone string
		key                testenv.TSIGKey
		ch                 acme.Challenge
		want               string
	}{
		{"wrong secret", d.Addr, d.Zone, wrongSecret, ch, "NOTAUTH"},
		{"unknown key", d.Addr, d.Zone, otherKey, ch, "NOTAUTH"},
		{"outside the zone", d.Addr, d.Zone, key, dnsChallenge("www.example.com", "g.h"), "not in zone acme.test."},
		{"server down", down, d.Zone, key, ch, "connection refused"},
	}
	for _, c := range cases {
		err := newSolver(t, c.server, c.zone, c.key).Present(ctx, c.ch)
		if err == nil {
			t.Errorf("%s: update accepted", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
		for _, k := range []testenv.TSIGKey{key, wrongSecret} {
			if strings.Contains(err.Error(), k.Secret) {
				t.Errorf("%s: error shows the TSIG secret", c.name)
			}
		}
	}
	lost, err := issue.NewRFC2136Solver(issue.RFC2136Config{Server: d.Addr, Zone: d.Zone, TSIGName: key.Name,
		TSIGSecretFunc: func(context.Context) ([]byte, error) { return nil, errors.New("vault down") }})
	if err != nil {
		t.Fatal(err)
	}
	if err := lost.Present(ctx, ch); err == nil || !strings.Contains(err.Error(), "TSIG key edge-acme: vault down") {
		t.Errorf("secret unavailable: %v", err)
	}
	if got := txt(t, d, "_acme-challenge.api.acme.test"); len(got) != 0 {
		t.Errorf("refused updates left TXT %q", got)
	}
	if _, err := issue.NewRFC2136Solver(issue.RFC2136Config{Server: d.Addr, Zone: d.Zone, TSIGName: key.Name, TSIGAlgorithm: "hmac-md5", TSIGSecret: []byte("x")}); err == nil {
		t.Error("hmac-md5 accepted")
	}
	if _, err := issue.DecodeTSIGSecret("not base64!" + key.Secret); err == nil || strings.Contains(err.Error(), key.Secret) {
		t.Errorf("DecodeTSIGSecret of bad text: %v", err)
	}
}
