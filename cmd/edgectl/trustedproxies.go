package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// prefixList is a flag.Value holding a comma-separated list of CIDR networks; a bare
// address stands for itself (/32 or /128). The empty string is the empty list.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Set parses v, replacing the list.
func (l *prefixList) Set(v string) error {
	var out prefixList
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return fmt.Errorf("%q: want a CIDR network such as 10.0.0.0/8 or an address", f)
			}
			if p != p.Masked() {
				return fmt.Errorf("%q: host bits set; did you mean %s?", f, p.Masked())
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("%q: want a CIDR network such as 10.0.0.0/8 or an address", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	*l = out
	return nil
}
