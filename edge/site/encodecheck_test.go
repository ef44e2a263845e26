package site

import (
	"strings"
	"testing"
	"time"
)

func TestEncodeChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string // substring of the error; "" for none
	}{
		{"type text/*", CheckCompressType("text/*"), ""},
		{"type suffix", CheckCompressType("application/*+json"), ""},
		{"type */*", CheckCompressType("*/*"), "not a media type"},
		{"type upper", CheckCompressType("Text/HTML"), "lower case"},
		{"type bare", CheckCompressType("json"), "not a media type"},
		{"type star inside", CheckCompressType("application/js*n"), "not a media type"},
		{"encoding", CheckEncoding("deflate"), "unknown encoding"},
		{"pattern ok", CheckCachePattern("/assets/**/*.js"), ""},
		{"pattern base", CheckCachePattern("*.html"), ""},
		{"pattern relative", CheckCachePattern("assets/*"), "start it with"},
		{"pattern ***", CheckCachePattern("/a/***"), "***"},
		{"pattern brace", CheckCachePattern("/a/{b,c}"), "reserved"},
		{"pattern space", CheckCachePattern("/a b"), "not allowed"},
		{"pattern long", CheckCachePattern("/" + strings.Repeat("*a", 200)), "at most 256"},
		{"value ctl", CheckCacheValue("max-age=1\r\nX: y"), "control"},
		{"origin wildcard", CheckCORSOrigin("https://*.example.com"), ""},
		{"origin port", CheckCORSOrigin("http://localhost:3000"), ""},
		{"origin path", CheckCORSOrigin("https://example.com/"), "no path"},
		{"origin scheme", CheckCORSOrigin("example.com"), "want"},
		{"origin upper", CheckCORSOrigin("https://Example.com"), "lower case"},
		{"origin inner star", CheckCORSOrigin("https://a.*.example.com"), "want scheme"},
		{"origin bad port", CheckCORSOrigin("https://a.com:x"), "bad port"},
		{"cors star creds", CORS{Origins: []string{"*"}, Credentials: true}.Check(), "credentials"},
		{"cors header star creds", CORS{Origins: []string{"https://a.com"}, Headers: []string{"*"}, Credentials: true}.Check(), "credentials"},
		{"cors max age", CORS{Origins: []string{"https://a.com"}, MaxAge: 48 * time.Hour}.Check(), "out of range"},
		{"cors method", CORS{Origins: []string{"https://a.com"}, Methods: []string{"get"}}.Check(), "upper case"},
		{"cors ok", CORS{Origins: []string{"https://a.com", "https://*.b.com"}, Methods: []string{"PUT"}, Headers: []string{"X-Token"}, Credentials: true}.Check(), ""},
		{"compress twice", Compress{Encodings: []string{"br", "br"}}.Check(), "twice"},
		{"compress min", Compress{MinSize: 1 << 20}.Check(), "out of range"},
		{"rules many", CheckCacheRules(make([]CacheRule, MaxCacheRules+1)), "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.want == "" && tc.err != nil:
				t.Errorf("got %v; want nil", tc.err)
			case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want)):
				t.Errorf("got %v; want an error with %q", tc.err, tc.want)
			}
		})
	}
}

func TestEncodeDefaults(t *testing.T) {
	c := Compress{}.WithDefaults()
	if c.MinSize != DefaultCompressMinSize || len(c.Encodings) != 3 || c.Encodings[0] != "zstd" || len(c.Types) != len(DefaultCompressTypes) {
		t.Errorf("Compress{}.WithDefaults() = %+v", c)
	}
	if err := c.Check(); err != nil {
		t.Errorf("defaults do not pass Check: %v", err)
	}
	c.Types[0] = "changed"
	if DefaultCompressTypes[0] == "changed" {
		t.Error("WithDefaults shares DefaultCompressTypes")
	}
	if m := (CORS{}).WithDefaults().Methods; strings.Join(m, ",") != "GET,HEAD,POST" {
		t.Errorf("CORS methods default %v", m)
	}
}
