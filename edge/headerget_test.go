package edge

import (
	"net/http"
	"net/textproto"
	"testing"
)

// TestHeaderGet: for the canonical keys it is given, headerGet is http.Header.Get.
func TestHeaderGet(t *testing.T) {
	h := http.Header{"Connection": {"close", "x"}, "Content-Length": {""}, "Upgrade": {}}
	for _, k := range []string{"Transfer-Encoding", "Content-Length", "Connection", "Content-Encoding", "Upgrade"} {
		if textproto.CanonicalMIMEHeaderKey(k) != k {
			t.Fatalf("%q is not canonical", k)
		}
		if got, want := headerGet(h, k), h.Get(k); got != want {
			t.Errorf("headerGet(%q) = %q; want %q", k, got, want)
		}
	}
	if got := headerGet(nil, "Connection"); got != "" {
		t.Errorf("headerGet of a nil header = %q", got)
	}
}
