package edge

import "strings"

// Bounds of reading an Accept-Encoding field: what lies beyond is ignored (as if not
// listed), so a hostile header costs at most this much whatever its size.
const (
	maxAcceptEncodingBytes   = 4 << 10
	maxAcceptEncodingEntries = 64
)

// negotiateEncoding returns the coding of offered (the edge's preference order) that the
// Accept-Encoding field values accept with the highest q-value, preferring the earlier
// offered on a tie; "" when none is acceptable or the field is absent. A coding is
// acceptable when listed, or covered by "*", with a q-value above 0; "x-gzip" is gzip.
// An entry with a malformed q-value is ignored.
func negotiateEncoding(values []string, offered []string) string {
	var q [8]int // per offered coding, in thousandths; -1 when not listed
	for i := range q {
		q[i] = -1
	}
	star, budget, entries := -1, maxAcceptEncodingBytes, 0
	for _, v := range values {
		if len(v) > budget {
			v = v[:budget]
		}
		budget -= len(v)
		for v != "" && entries < maxAcceptEncodingEntries {
			var entry string
			entry, v, _ = strings.Cut(v, ",")
			name, params, _ := strings.Cut(entry, ";")
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			entries++
			qv, ok := qValue(params)
			if !ok {
				continue
			}
			if name == "*" {
				if star < 0 {
					star = qv
				}
				continue
			}
			for i, c := range offered {
				if i < len(q) && q[i] < 0 && codingIs(name, c) {
					q[i] = qv
				}
			}
		}
	}
	best, bestQ := "", 0
	for i, c := range offered {
		eff := star
		if i < len(q) && q[i] >= 0 {
			eff = q[i]
		}
		if eff > bestQ {
			best, bestQ = c, eff
		}
	}
	return best
}

// codingIs reports whether name, as a client wrote it, names the coding c.
func codingIs(name, c string) bool {
	return strings.EqualFold(name, c) || (c == "gzip" && strings.EqualFold(name, "x-gzip"))
}

// qValue returns the q parameter of an Accept-Encoding entry's parameters (";q=0.5") in
// thousandths: 1000 when absent, ok false when malformed (RFC 9110 section 12.4.2: "0" or
// "1" with up to three decimals, at most 1).
func qValue(params string) (int, bool) {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		return parseQ(strings.TrimSpace(v))
	}
	return 1000, true
}

// parseQ parses a qvalue into thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	n := int(s[0]-'0') * 1000
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		scale := 100
		for _, c := range s[2:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n += int(c-'0') * scale
			scale /= 10
		}
	}
	if n > 1000 {
		return 0, false
	}
	return n, true
}
