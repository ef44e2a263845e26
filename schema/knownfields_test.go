package schema

import (
	"slices"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

// TestKnownFieldsMatchSchema: the "did you mean" field lists are written by hand; they must
// list exactly the fields of the embedded schema's definitions, in the schema's order.
func TestKnownFieldsMatchSchema(t *testing.T) {
	v := cuecontext.New().CompileBytes(SchemaCUE, cue.Filename(schemaFilename))
	if v.Err() != nil {
		t.Fatal(v.Err())
	}
	defs := map[string]string{
		"sites.*":                           "#Site",
		"sites.*.key":                       "#KeyRef",
		"sites.*.access":                    "#Access",
		"sites.*.rate_limit":                "#RateLimit",
		"sites.*.routes.*.access":           "#Access",
		"sites.*.routes.*.rate_limit":       "#RateLimit",
		"sites.*.passthrough":               "#Passthrough",
		"sites.*.passthrough.timeouts":      "#PassthroughTimeouts",
		"sites.*.passthrough.health_check":  "#PassthroughHealthCheck",
		"sites.*.routes.*":                  "#Route",
		"sites.*.routes.*.compress":         "#Compress",
		"sites.*.routes.*.cors":             "#CORS",
		"sites.*.routes.*.timeouts":         "#Timeouts",
		"sites.*.routes.*.health_check":     "#HealthCheck",
		"sites.*.redirects.*":               "#Redirect",
		"sites.*.headers":                   "#Headers",
		"sites.*.headers.hsts":              "#HSTS",
		"defaults":                          "#Defaults",
		"defaults.compress":                 "#Compress",
		"defaults.hsts":                     "#HSTS",
		"defaults.timeouts":                 "#Timeouts",
		"policy":                            "#Policy",
		"sites.*.maintenance":               "#Maintenance",
		"sites.*.rewrites.*":                "#Rewrite",
		"sites.*.routes.*.basic_auth":       "#BasicAuth",
		"sites.*.routes.*.basic_auth.users": "#SecretRef",
		"sites.*.routes.*.forward_auth":     "#ForwardAuth",
		"sites.*.client_auth":               "#ClientAuth",
		"sites.*.routes.*.upstreams.*":      "#WeightedUpstream",
		"sites.*.routes.*.sticky":           "#Sticky",
		"sites.*.tls":                       "#SiteTLS",
		"issuers.*":                         "#Issuer",
		"issuers.*.acme":                    "#ACMEIssuer",
		"issuers.*.acme.eab":                "#EAB",
		"issuers.*.acme.dns01":              "#DNS01",
		"issuers.*.acme.dns01.tsig":         "#TSIG",
		"issuers.*.vault_pki":               "#VaultPKIIssuer",
		"sites.*.routes.*.static":           "#Static",
		"sites.*.routes.*.static.git":       "#StaticGit",
	}
	if len(defs) != len(knownFields) {
		t.Fatalf("knownFields has %d entries; this test maps %d", len(knownFields), len(defs))
	}
	for path, def := range defs {
		it, err := v.LookupPath(cue.ParsePath(def)).Fields(cue.Optional(true))
		if err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		var fields []string
		for it.Next() {
			fields = append(fields, it.Selector().Unquoted())
		}
		if !slices.Equal(fields, knownFields[path]) {
			t.Errorf("knownFields[%q] = %v; the schema's %s has %v", path, knownFields[path], def, fields)
		}
	}
}
