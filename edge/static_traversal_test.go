package edge

import (
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestStaticTraversal sends names that try to leave a static route's directory or reach a
// hidden file, exactly as written (curl --path-as-is), over HTTP/2 and HTTP/1.1: each is
// answered 404 (or 400 where net/http refuses the request line) and no secret is sent.
func TestStaticTraversal(t *testing.T) {
	t.Parallel()
	curl := testenv.NeedTool(t, "curl", "curl")
	dir := staticTree(t)
	srv := startServer(t, Options{AdminListen: Off, HTTPListen: Off})
	publish(t, srv, 1, staticSite(t, dir, spaFS()))
	caFile := writeCAFile(t)
	p := port(srv.Addr())
	paths := []string{
		"/../outside.txt",
		"/../../../../../../etc/passwd",
		"/%2e%2e/outside.txt",
		"/%2E%2E/outside.txt",
		"/%2e%2e%2foutside.txt",
		"/..%2foutside.txt",
		"/sub/..%2f..%2foutside.txt",
		"/..%5coutside.txt",
		"/sub/..%5c..%5coutside.txt",
		`/..\outside.txt`,
		"/escape.txt",            // a link to ../outside.txt
		"/abs.txt",               // a link to the absolute path of outside.txt
		"/escapedir/outside.txt", // a link to ".."
		"/.secret",
		"/%2esecret",
		"/.git/config",
		"/%2egit/config",
		"/sub/.hidden",
		"/browse/.secret",
		"/spa/.env",
		"/spa/%2eenv",
		"/index.html%00.txt",
		"/%00",
		"/" + strings.Repeat("a", 300),
		"/" + strings.Repeat("a/", 2000),
		"/spa/" + strings.Repeat("..%2f", 20) + "etc/passwd",
	}
	// One curl per protocol for all the names (curl keeps their order and the connection).
	for _, proto := range []string{"--http2", "--http1.1"} {
		args := []string{"-s", "-i", "--path-as-is", proto, "--max-time", "20", "--cacert", caFile,
			"--resolve", "static.example:" + p + ":127.0.0.1"}
		for _, path := range paths {
			args = append(args, "https://static.example:"+p+path)
		}
		out, err := run(t, 30*time.Second, curl, args...)
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", proto, err, out)
		}
		var statuses []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
				statuses = append(statuses, f[1])
			}
		}
		if len(statuses) != len(paths) {
			t.Fatalf("%s: %d responses for %d requests:\n%s", proto, len(statuses), len(paths), out)
		}
		for i, st := range statuses {
			if st != "404" && st != "400" {
				t.Errorf("%s %.60s: status %s; want 404 (or 400)", proto, paths[i], st)
			}
		}
		if strings.Contains(out, "SECRET") || strings.Contains(out, "root:") {
			t.Errorf("%s: a secret was sent:\n%s", proto, out)
		}
	}
}
