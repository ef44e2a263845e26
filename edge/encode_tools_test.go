package edge

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestCompressCurl: curl (libz, libbrotli, libzstd: decoders other than the Go ones) gets
// each coding and decodes it to the body the upstream sent, over h2 and HTTP/1.1.
func TestCompressCurl(t *testing.T) {
	t.Parallel()
	curl := testenv.NeedTool(t, "curl", "curl")
	up := encodeUpstream(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, encodeSite(t, up.URL))
	caFile := writeCAFile(t)
	p := port(srv.Addr())
	want := fmt.Sprintf("%x", sha256.Sum256(textBody(20<<10)))
	for _, proto := range []string{"--http2", "--http1.1"} {
		for _, coding := range []string{"zstd", "br", "gzip"} {
			for _, path := range []string{"/text", "/text?chunked=1"} {
				out, err := run(t, 15*time.Second, curl, "-s", proto, "--compressed", "-H", "Accept-Encoding: "+coding,
					"--cacert", caFile, "--resolve", "enc.example.com:"+p+":127.0.0.1",
					"-D", "-", "-o", "/dev/stderr", "https://enc.example.com:"+p+path)
				if err != nil {
					t.Fatalf("curl %s %s: %v\n%.300s", proto, coding, err, out)
				}
				if !regexp.MustCompile(`(?i)content-encoding: ` + coding + `\r\n`).MatchString(out) {
					t.Errorf("curl %s %s %s: no Content-Encoding %s in\n%.500s", proto, coding, path, coding, out)
				}
				i := strings.Index(out, "\r\n\r\n") // headers, then the decoded body (stderr)
				if i < 0 {
					t.Fatalf("curl %s %s: no header end:\n%.300s", proto, coding, out)
				}
				if got := fmt.Sprintf("%x", sha256.Sum256([]byte(out[i+4:]))); got != want {
					t.Errorf("curl %s %s %s: decoded body (%d bytes) differs from the upstream's", proto, coding, path, len(out)-i-4)
				}
			}
		}
	}
}

// TestCompressH2load: concurrent compressed streams on a few connections, all answered.
func TestCompressH2load(t *testing.T) {
	t.Parallel()
	h2load := testenv.NeedTool(t, "h2load", "nghttp2-client")
	up := encodeUpstream(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, encodeSite(t, up.URL))
	p := port(srv.Addr())
	out, err := run(t, 60*time.Second, h2load, "-n", "600", "-c", "3", "-m", "20",
		"-H", "accept-encoding: zstd, br, gzip", "--connect-to=127.0.0.1:"+p,
		"https://enc.example.com/text", "https://enc.example.com/json", "https://enc.example.com/text?chunked=1")
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	if !strings.Contains(out, "600 succeeded, 0 failed, 0 errored") || !strings.Contains(out, "status codes: 600 2xx") {
		t.Errorf("h2load: not all 600 requests answered 2xx:\n%s", out)
	}
	// 600 bodies of 20 KiB are 12 MB uncompressed; compressed they are far less.
	m := regexp.MustCompile(`traffic: ([0-9.]+)(KB|MB)`).FindStringSubmatch(out)
	if m == nil || m[2] != "KB" {
		t.Errorf("h2load: traffic %v; want under 1 MB (compressed)\n%s", m, out)
	}
}
