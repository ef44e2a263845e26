package schema

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/edgectl/edge/reconcile/issue"
)

// issuerDecl is one issuer declared in edge.cue and where.
type issuerDecl struct {
	P   pos
	Cfg issue.Config
}

// siteTLS reads the site's tls: {issuer} and refuses what cannot go with it: cert, key
// (an issued certificate replaces both) and passthrough. It returns the issuer's name and
// where it is written; empty when the site does not ask for one.
func (x *extractor) siteTLS(v val, siteAt fieldPath, name string) strPos {
	tv := lookup(v, "tls")
	if !tv.Exists() {
		return strPos{}
	}
	at := siteAt.field("tls").field("issuer")
	iss, _ := str(tv, "issuer")
	for _, f := range []string{"cert", "key"} {
		fat := siteAt.field(f)
		if _, written := x.idx[fat.key()]; written {
			x.errorf(fat, "site %s asks for an issued certificate (tls: {issuer: %q}), which replaces cert and key; remove %s, or remove tls to serve the committed certificate", name, iss, f)
		}
	}
	if _, written := x.idx[siteAt.field("passthrough").key()]; written {
		x.errorf(siteAt.field("tls"), "site %s is a passthrough site: its upstreams hold their own certificate, so it cannot ask for an issued one; remove tls", name)
	}
	return strPos{iss, x.pos(at)}
}

// issuers reads edge.cue's issuers into r.
func (x *extractor) issuers(v val, r *repoDecl) {
	iv := lookup(v, "issuers")
	if !iv.Exists() {
		return
	}
	it, err := iv.Fields()
	if err != nil {
		return
	}
	r.Issuers = map[string]issuerDecl{}
	for it.Next() {
		name := it.Label()
		at := repoPath("issuers").field(name)
		d := issuerDecl{P: x.pos(at), Cfg: issue.Config{Name: name}}
		av, pv := lookup(it.Value(), "acme"), lookup(it.Value(), "vault_pki")
		switch {
		case av.Exists() && pv.Exists():
			x.errorf(at, "issuer %s declares both acme and vault_pki; an issuer is one of them: split it into two issuers", name)
		case av.Exists():
			d.Cfg.ACME = x.acmeIssuer(av, at.field("acme"), name)
		case pv.Exists():
			d.Cfg.VaultPKI = x.vaultPKIIssuer(pv, at.field("vault_pki"))
		default:
			x.errorf(at, "issuer %s declares neither acme: {...} nor vault_pki: {...}", name)
		}
		r.Issuers[name] = d
	}
}

// acmeIssuer reads an ACME issuer at `at`.
func (x *extractor) acmeIssuer(v val, at fieldPath, name string) *issue.ACMEConfig {
	c := &issue.ACMEConfig{}
	c.Directory, _ = str(v, "directory")
	if u, err := url.Parse(c.Directory); err != nil || u.Host == "" {
		x.errorf(at.field("directory"), "issuer %s: directory %q is not an https:// URL with a host", name, c.Directory)
	}
	c.Email, _ = str(v, "email")
	c.PreferredChain, _ = str(v, "preferred_chain")
	kt, _ := str(v, "key_type")
	c.KeyType = issue.KeyType(kt)
	seen := map[string]bool{}
	for i, ch := range strList(v, "challenges") {
		if seen[ch] {
			x.errorf(at.field("challenges").index(i), "issuer %s lists challenge %s twice", name, ch)
		}
		seen[ch] = true
		c.Challenges = append(c.Challenges, ch)
	}
	if ev := lookup(v, "eab"); ev.Exists() {
		c.EAB = &issue.EAB{HMAC: x.secretRef(lookup(ev, "hmac"), at.field("eab").field("hmac"))}
		c.EAB.KID, _ = str(ev, "kid")
	}
	if dv := lookup(v, "dns01"); dv.Exists() {
		dat := at.field("dns01")
		d := &issue.DNS01Config{}
		d.Server, _ = str(dv, "server")
		d.Zone, _ = str(dv, "zone")
		tv := lookup(dv, "tsig")
		d.TSIG.Name, _ = str(tv, "name")
		d.TSIG.Algorithm, _ = str(tv, "algorithm")
		d.TSIG.Secret = x.secretRef(lookup(tv, "secret"), dat.field("tsig").field("secret"))
		c.DNS01 = d
		if !seen[issue.DNS01] {
			x.errorf(dat, "issuer %s configures dns01 but its challenges (%s) do not list \"dns-01\"; add it, or remove dns01", name, strings.Join(c.Challenges, ", "))
		}
	} else if seen[issue.DNS01] {
		x.errorf(at.field("challenges"), "issuer %s lists dns-01 but has no dns01: {server, tsig} to answer it with", name)
	}
	return c
}

// vaultPKIIssuer reads a Vault PKI issuer at `at`.
func (x *extractor) vaultPKIIssuer(v val, at fieldPath) *issue.VaultPKIConfig {
	c := &issue.VaultPKIConfig{}
	c.Mount, _ = str(v, "mount")
	c.Role, _ = str(v, "role")
	kt, _ := str(v, "key_type")
	c.KeyType = issue.KeyType(kt)
	if d := x.duration(v, at, "ttl"); d != nil {
		c.TTL = *d
	}
	return c
}

// secretRef reads a Vault KV v2 reference at `at`, checked as a key reference is.
func (x *extractor) secretRef(v val, at fieldPath) issue.SecretRef {
	var r issue.SecretRef
	r.Mount, _ = str(v, "mount")
	r.Path, _ = str(v, "path")
	r.Field, _ = str(v, "field")
	x.checkKeyRef(at, KeyRef{Mount: r.Mount, Path: r.Path, Field: r.Field})
	return r
}

// checkIssuer makes the checks of site d's issuer against edge.cue: declared, and able to
// issue its names (a wildcard needs dns-01 from an ACME CA).
func checkIssuer(d *siteDecl, repo *repoResult, at func(pos, Severity, string, ...any)) {
	if d.Issuer.S == "" {
		return
	}
	iss, ok := repo.decl.Issuers[d.Issuer.S]
	if !ok {
		at(d.Issuer.P, SeverityError, "issuer %q is not declared in edge.cue (%s); declare it under issuers: %s: {acme: {...}}", d.Issuer.S, declaredIssuers(repo), CUELabel(d.Issuer.S))
		return
	}
	if a := iss.Cfg.ACME; a != nil && !slices.Contains(a.Challenges, issue.DNS01) {
		for _, h := range d.Hosts {
			if strings.HasPrefix(h.S, "*.") {
				at(h.P, SeverityError, "host %q is a wildcard: an ACME CA issues wildcards only through dns-01, which issuer %s does not use (challenges: %s)", h.S, d.Issuer.S, strings.Join(a.Challenges, ", "))
			}
		}
	}
}

func declaredIssuers(repo *repoResult) string {
	if len(repo.decl.Issuers) == 0 {
		return "it declares none"
	}
	names := make([]string, 0, len(repo.decl.Issuers))
	for n := range repo.decl.Issuers {
		names = append(names, n)
	}
	sort.Strings(names)
	return "declared: " + sansList(names)
}

// issuerConfigs is the Config.Issuers of the repo.
func (r *repoResult) issuerConfigs() map[string]issue.Config {
	if len(r.decl.Issuers) == 0 {
		return nil
	}
	out := make(map[string]issue.Config, len(r.decl.Issuers))
	for n, d := range r.decl.Issuers {
		out[n] = d.Cfg
	}
	return out
}
