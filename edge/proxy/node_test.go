package proxy

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// nodeKeepAlive is a Node.js HTTP server closing idle keep-alive connections after 100 ms
// (Node's default is 5 s). It prints its port, then "closed" each time a socket closes.
const nodeKeepAlive = `
const http = require('http');
const srv = http.createServer((req, res) => res.end('node ' + req.method + ' ' + req.url));
srv.keepAliveTimeout = 100;
srv.on('connection', s => s.on('close', () => console.log('closed')));
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`

// startNodeKeepAlive runs nodeKeepAlive; closed counts the sockets it closed.
func startNodeKeepAlive(t *testing.T) (u *url.URL, closed *atomic.Int64) {
	t.Helper()
	node := testenv.NeedTool(t, "node", "nodejs")
	script := filepath.Join(t.TempDir(), "keepalive.js")
	if err := os.WriteFile(script, []byte(nodeKeepAlive), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatalf("node printed no port: %v", sc.Err())
	}
	closed = new(atomic.Int64)
	go func() {
		for sc.Scan() {
			if sc.Text() == "closed" {
				closed.Add(1)
			}
		}
	}()
	return mustURL(t, "http://127.0.0.1:"+strings.TrimSpace(sc.Text())), closed
}

// TestNodeClosesIdleConnections: a real Node.js upstream closes the proxy's pooled
// connections while idle; the next requests are answered without an error, a retry that
// the upstream's health does not pay for, and without ejecting it.
func TestNodeClosesIdleConnections(t *testing.T) {
	t.Parallel()
	up, closed := startNodeKeepAlive(t)
	var failures atomic.Int64
	m := newManager(t, Options{OnUpstreamError: func(*url.URL, error) { failures.Add(1) }})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{up}})
	fe := front(t, h)
	c := fe.Client()
	for round := 0; round < 3; round++ {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodGet} {
			req, _ := http.NewRequest(method, fe.URL+"/r", nil)
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("round %d %s: status %d", round, method, res.StatusCode)
			}
		}
		want := int64(round + 1)
		eventually(t, 30*time.Second, "node closing the idle connection", func() bool { return closed.Load() >= want })
	}
	if n := failures.Load(); n != 0 {
		t.Errorf("%d upstream failures reported for connections node closed while idle", n)
	}
	if _, body := get(t, c, fe.URL+"/last"); body != "node GET /last" {
		t.Errorf("body %q", body)
	}
}
