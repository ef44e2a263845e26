package edge

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// run runs a tool with a timeout and returns its combined output.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

func TestCurl(t *testing.T) {
	curl := testenv.NeedTool(t, "curl", "curl")
	srv := startServer(t, Options{AdminListen: Off})
	shop, blog, apps := routingSites(t)
	sites := append([]*Site{shop, blog, apps}, sniSites(t)...)
	publish(t, srv, 1, sites...)
	caFile := writeCAFile(t)
	p := port(srv.Addr())
	resolve := func(host string) string { return host + ":" + p + ":127.0.0.1" }

	for _, tc := range []struct {
		name    string
		host    string   // URL host, resolved to the listener
		args    []string // extra curl arguments
		path    string
		wantOK  bool     // curl exit status 0
		want    []string // substrings of the output (-sv: headers and TLS details)
		notWant []string
	}{
		{"exact h2", "shop.example.com", []string{"--http2"}, "/", true,
			[]string{"< HTTP/2 200", "shop-web GET /", "strict-transport-security: max-age=31536000; includeSubDomains"}, []string{"x-powered-by"}},
		{"exact http/1.1", "shop.example.com", []string{"--http1.1"}, "/api/x", true,
			[]string{"< HTTP/1.1 200", "shop-api GET /x"}, nil},
		{"wildcard", "a1.apps.example.com", nil, "/", true, []string{"< HTTP/2 200", "apps GET /"}, nil},
		{"two labels under a wildcard", "a.b.apps.example.com", nil, "/", false, []string{"unrecognized name"}, nil},
		{"unknown name", "unknown.example.com", nil, "/", false, []string{"unrecognized name"}, []string{"Server certificate"}},
		{"upper case", "SHOP.Example.COM", nil, "/", true, []string{"< HTTP/2 200", "shop-web"}, nil},
		{"trailing dot", "shop.example.com.", nil, "/", true, []string{"< HTTP/2 200", "shop-web"}, nil},
		{"421 on Host mismatch", "shop.example.com", []string{"-H", "Host: blog.example.com"}, "/", true,
			[]string{"< HTTP/2 421"}, nil},
		{"421 on Host mismatch http/1.1", "shop.example.com", []string{"--http1.1", "-H", "Host: blog.example.com"}, "/", true,
			[]string{"< HTTP/1.1 421"}, nil},
		{"redirect", "www.shop.example.com", nil, "/a?b=1", true,
			[]string{"< HTTP/2 308", "location: https://shop.example.com/a?b=1"}, nil},
		{"dual, ECDSA-only client", "dual.example.com", []string{"--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"}, "/", true,
			[]string{"ECDHE-ECDSA-AES128-GCM-SHA256"}, nil},
		{"dual, RSA-only client", "dual.example.com", []string{"--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"}, "/", true,
			[]string{"ECDHE-RSA-AES128-GCM-SHA256"}, nil},
		{"TLS 1.1 refused", "shop.example.com", []string{"--tlsv1.1", "--tls-max", "1.1"}, "/", false, nil, []string{"< HTTP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-sv", "--max-time", "10", "--cacert", caFile,
				"--resolve", resolve(strings.ToLower(strings.TrimSuffix(tc.host, "."))),
				"--resolve", resolve(tc.host)}, tc.args...)
			args = append(args, "https://"+tc.host+":"+p+tc.path)
			out, err := run(t, 15*time.Second, curl, args...)
			if (err == nil) != tc.wantOK {
				t.Fatalf("curl %v: err %v; want success %v\n%s", args, err, tc.wantOK, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("curl output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(strings.ToLower(out), strings.ToLower(w)) {
					t.Errorf("curl output has %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("plain HTTP redirect", func(t *testing.T) {
		hp := port(srv.HTTPAddr())
		out, err := run(t, 15*time.Second, curl, "-sv", "--max-time", "10", "--resolve", "shop.example.com:"+hp+":127.0.0.1",
			"http://shop.example.com:"+hp+"/x?y=1")
		if err != nil || !strings.Contains(out, "< HTTP/1.1 301") || !strings.Contains(out, "Location: https://shop.example.com:"+p+"/x?y=1") {
			t.Errorf("plain HTTP: %v\n%s", err, out)
		}
	})
}
