package schema

// certOrIssuer describes where a site's certificate comes from, for a plan's change line.
func certOrIssuer(s *Site) string {
	if s.Issuer != "" {
		return "issued by " + s.Issuer
	}
	return certSummary(s.Cert)
}

// describeIssuers fills the Issuer of the plan's added and removed sites that ask for an
// issued certificate: the issuer's name and what it is (from the config of their side).
func describeIssuers(p *Plan, base, head *Config) {
	fill := func(sums []SiteSummary, cfg *Config) {
		if cfg == nil {
			return
		}
		byName := make(map[string]*Site, len(cfg.Sites))
		for _, s := range cfg.Sites {
			byName[s.Name] = s
		}
		for i := range sums {
			s := byName[sums[i].Name]
			if s == nil || s.Issuer == "" {
				continue
			}
			sums[i].Issuer = s.Issuer
			if ic, ok := cfg.Issuers[s.Issuer]; ok {
				sums[i].Issuer += " (" + ic.Describe() + ")"
			}
		}
	}
	fill(p.Added, head)
	fill(p.Removed, base)
}
