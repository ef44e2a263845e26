package schema

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// badRune returns the first character of s that no path, name, URL or reference written in
// a config file has a use for: a control character (NUL, line breaks, escape, ...), an
// invisible format character (bidirectional overrides, zero-width spaces) or invalid UTF-8.
func badRune(s string) (rune, bool) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return r, true
			}
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return r, true
		}
	}
	return 0, false
}

// plain reports whether s, the value of what written at at, is free of the characters
// badRune finds, recording an error when it is not.
func (x *extractor) plain(at fieldPath, what, s string) bool {
	if r, bad := badRune(s); bad {
		x.errorf(at, "%s %q holds the control or invisible character %U; remove it", what, s, r)
		return false
	}
	return true
}

// checkKeyRef refuses in a key reference's mount, path or field what a Vault path or a key
// file name has no use for: empty, "." or ".." segments, control and invisible characters,
// white space, and "?", "#", "%" or "\". at is where the key reference is written.
func (x *extractor) checkKeyRef(at fieldPath, k KeyRef) {
	for _, part := range []struct{ field, val string }{{"mount", k.Mount}, {"path", k.Path}, {"field", k.Field}} {
		key := at.field(part.field)
		if !x.plain(key, "key "+part.field, part.val) {
			continue
		}
		if i := strings.IndexFunc(part.val, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(`?#%\`, r) }); i >= 0 {
			r, _ := utf8.DecodeRuneInString(part.val[i:])
			x.errorf(key, "key %s %q contains %q; a key reference is plain path segments, e.g. \"edge/example\"", part.field, part.val, r)
			continue
		}
		if part.field == "field" {
			if part.val == "" || part.val == "." || part.val == ".." {
				x.errorf(key, "key field %q is not a field name; want e.g. \"key\"", part.val)
			}
			continue
		}
		for _, seg := range strings.Split(part.val, "/") {
			if seg == "" || seg == "." || seg == ".." {
				x.errorf(key, "key %s %q has an empty, \".\" or \"..\" segment; want e.g. \"edge/example\"", part.field, part.val)
				break
			}
		}
	}
}

// integer reads the whole number at field of v (v is written at at), refusing a value that
// does not fit in [lo, hi], however large: CUE numbers are unbounded, and a value that
// overflows must never be read as another (zero, or a wrapped one).
func (x *extractor) integer(v val, at fieldPath, field string, lo, hi int64) (int, bool) {
	f := lookup(v, field)
	if !f.Exists() {
		return 0, false
	}
	n, err := f.Int64()
	if err != nil || n < lo || n > hi {
		text := "the value"
		if b, err := f.Int(nil); err == nil {
			text = b.String()
			if len(text) > 24 {
				text = text[:12] + "…" + fmt.Sprintf(" (%d digits)", len(text))
			}
		}
		x.errorf(at.field(field), "%s: %s is out of range; want a whole number from %d to %d", at.field(field), text, lo, hi)
		return 0, false
	}
	return int(n), true
}

// maxKeyVersion is the largest KV version a key reference may pin (Vault's are 32-bit).
const maxKeyVersion = math.MaxInt32

// asciiURL returns the ASCII form of u to suggest: the host in IDNA ASCII and the bytes of
// the path and query that are not ASCII percent-encoded. The host must be valid
// (normalizeHost).
func asciiURL(u *url.URL) string {
	host, _ := normalizeHost(u.Hostname())
	if p := u.Port(); p != "" {
		host += ":" + p
	}
	a := u.Scheme + "://" + host + pctNonASCII(u.EscapedPath())
	if u.RawQuery != "" {
		a += "?" + pctNonASCII(u.RawQuery)
	}
	return a
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// pctNonASCII percent-encodes the bytes of s that are not ASCII.
func pctNonASCII(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
