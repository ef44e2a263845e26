package main

import (
	"strings"
	"testing"
)

// TestPlanIssuedCertificate: a site switching to an issued certificate and a new issued
// site show where their certificates come from.
func TestPlanIssuedCertificate(t *testing.T) {
	repo := newConfigRepo(t)
	base := repo.commit("base")
	repo.write("edge.cue", repo.read("edge.cue")+"\nissuers: le: acme: {directory: \"https://acme-v02.api.letsencrypt.org/directory\", email: \"ops@example.test\"}\n")
	repo.write("sites/shop.cue", "package edge\n\nsites: shop: {\n\thosts: [\"shop.example.test\"]\n\ttls: issuer: \"le\"\n\troutes: \"/\": upstreams: [\"http://127.0.0.1:3001\"]\n}\n")
	acme := repo.read("sites/acme.cue")
	acme = strings.Replace(acme, "\tcert:    \"certs/acme.pem\"\n\tkey: path: \"edge/acme\"\n", "\ttls: issuer: \"le\"\n", 1)
	repo.write("sites/acme.cue", acme)
	head := repo.commit("head")

	planText(t, repo.dir, base, head,
		"+ site shop (sites/shop.cue)\n    hosts: shop.example.test\n    cert:  issued by le (acme https://acme-v02.api.letsencrypt.org/directory)\n",
		"    cert: certs/acme.pem: acme.example.test, www.acme.example.test",
		"→ issued by le\n")
	var rep struct {
		Plan struct {
			Added []struct{ Name, Issuer string } `json:"added"`
		} `json:"plan"`
	}
	planJSON(t, repo.dir, base, head, &rep)
	if len(rep.Plan.Added) != 1 || rep.Plan.Added[0].Issuer != "le (acme https://acme-v02.api.letsencrypt.org/directory)" {
		t.Errorf("json plan's added sites %+v; want shop issued by le", rep.Plan.Added)
	}
}
