package testenv

import "strings"

// Replacements is how many orders Pebble accepted as the replacement of an earlier
// certificate (ACME Renewal Information, RFC 9773: the order named it in "replaces"), as
// its log says.
func (p *Pebble) Replacements() int {
	return strings.Count(p.out.String(), "ARI: order ")
}
