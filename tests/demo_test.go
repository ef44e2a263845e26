package tests

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestDemo runs `edgectl demo` as a subprocess, with the Node.js sample app and with the
// built-in Go app, and checks what it promises: two domains on one port over HTTP/2, 421
// for a Host the certificate does not cover, a live config change served without restart,
// the printed curl commands work, and Ctrl-C stops everything it started.
func TestDemo(t *testing.T) {
	bin := edgectl(t)
	for _, app := range []string{"node", "go"} {
		t.Run(app, func(t *testing.T) {
			if app == "node" {
				testenv.NeedTool(t, "node", "nodejs")
			}
			demoRun(t, bin, app)
		})
	}
}

func demoRun(t *testing.T, bin, app string) {
	dir := filepath.Join(t.TempDir(), "work")
	d := demoStart(t, bin, "--dir", dir, "--app", app, "--listen", "127.0.0.1:0", "--http-listen", "off",
		"--admin", "127.0.0.1:0", "--change-after", "2s")

	ready := d.waitLine(t, regexp.MustCompile(`^ready: serving commit \S+ on (\S+) \(admin (\S+)\)`), 60*time.Second)
	addr := ready[1]
	appAddrs, pids := demoApps(t, d, app)

	client := demoClient(t, filepath.Join(dir, "ca.pem"), addr)
	port := addr[strings.LastIndex(addr, ":")+1:]
	demoCheckServing(t, client, port, app)
	if tlsApp := demoCheckPassthrough(t, d, client, dir, port, app); tlsApp != nil {
		appAddrs = append(appAddrs, tlsApp)
	}
	t.Run("printed curl", func(t *testing.T) {
		// Skipping here (curl missing, outside CI) skips only this subtest, not the live
		// change and shutdown checks below.
		testenv.NeedTool(t, "curl", "curl")
		for _, tc := range []struct{ match, want string }{
			{"-w '(HTTP/%{http_version})\\n' https://acme.example.test:", "(HTTP/2)"},
			{"-H 'Host: x.shops.example.test'", "421"},
			{"/blog/2024/hello", "/posts/hello?year=2024"},
			{"If-None-Match", "304"}, // the static route's page, asked again with its ETag
		} {
			line := d.lineContaining(t, "curl -sS", tc.match)
			out, err := exec.Command("sh", "-c", line).CombinedOutput()
			if err != nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("%s: %v\n%s\nwant %q in the output", line, err, out, tc.want)
			}
		}
	})

	// The status page's URL, printed with the admin address.
	page := d.waitLine(t, regexp.MustCompile(`^\s*(http://`+regexp.QuoteMeta(ready[2])+`/ui/)\s*$`), 10*time.Second)[1]
	if body := httpGet(t, page); !strings.Contains(body, `id="site-table"`) {
		t.Errorf("%s does not serve the status page", page)
	}
	d.waitLine(t, regexp.MustCompile(`^live change applied: serving commit (\S+)`), 60*time.Second)
	resp, _ := demoGet(t, client, "https://acme.example.test:"+port+"/", "")
	if got := resp.Header.Get("X-Demo-Revision"); got != "2" {
		t.Errorf("after the live change X-Demo-Revision = %q; want 2", got)
	}
	if got := resp.Header.Get("X-Powered-By"); got != "" {
		t.Errorf("X-Powered-By = %q; want it removed by the acme site's headers", got)
	}
	client.CloseIdleConnections()
	demoCheckShutdown(t, d, dir, appAddrs, pids)
}

// demoApps returns the sample app lines the demo printed (each match: the line, the app's
// address, its description) and, for the node app, the apps' process ids.
func demoApps(t *testing.T, d *demoProc, app string) ([][]string, []int) {
	t.Helper()
	appAddrs := regexp.MustCompile(`(?m)^\s+app-\d\s+http://(\S+) \((.*)\)$`).FindAllStringSubmatch(d.output(), -1)
	if len(appAddrs) != 2 {
		t.Fatalf("want two sample app lines, got %q", appAddrs)
	}
	var pids []int
	for _, m := range appAddrs {
		p := regexp.MustCompile(`^node hello.js, pid (\d+)$`).FindStringSubmatch(m[2])
		switch {
		case app == "node" && p == nil:
			t.Fatalf("app line %q: want a node pid", m[0])
		case app == "go" && m[2] != "built-in Go app":
			t.Fatalf("app line %q: want the built-in Go app", m[0])
		case p != nil:
			pid, _ := strconv.Atoi(p[1])
			pids = append(pids, pid)
		}
	}
	return appAddrs, pids
}

// demoCheckServing checks both demo sites answer over HTTP/2 with the sample app's
// greeting, and a Host not covered by the connection's certificate gets 421.
func demoCheckServing(t *testing.T, client *http.Client, port, app string) {
	t.Helper()
	for _, host := range []string{"acme.example.test", "demo.shops.example.test"} {
		resp, body := demoGet(t, client, "https://"+host+":"+port+"/", "")
		if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
			t.Errorf("%s: %s %s; want 200 over HTTP/2.0", host, resp.Proto, resp.Status)
		}
		if want := "hello from app-"; !strings.Contains(body, want) || !strings.Contains(body, "("+app+", port") {
			t.Errorf("%s: body %q; want the %s sample app's greeting", host, body, app)
		}
		if !strings.Contains(body, "x-forwarded-proto: https") {
			t.Errorf("%s: body %q; want the app to have seen X-Forwarded-Proto: https", host, body)
		}
	}
	if resp, _ := demoGet(t, client, "https://acme.example.test:"+port+"/", "x.shops.example.test"); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("mismatched Host: %s; want 421", resp.Status)
	}
}

// demoCheckShutdown interrupts the demo and checks it exits cleanly, stopping its sample
// apps and removing its work directory dir.
func demoCheckShutdown(t *testing.T, d *demoProc, dir string, appAddrs [][]string, pids []int) {
	t.Helper()
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		t.Fatalf("demo did not exit within 15s of SIGINT\n%s", d.output())
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d; want 0\n%s", code, d.output())
	}
	for _, m := range appAddrs {
		if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
			c.Close()
			t.Errorf("sample app %s still accepts connections after the demo exited", m[1])
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("node pid %d: kill 0 = %v; want ESRCH (process gone)", pid, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir %s: %v; want it removed without --keep", dir, err)
	}
}

// demoProc is a running `edgectl demo` and its output so far.
type demoProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	out    strings.Builder
	lines  chan string
}

func demoStart(t *testing.T, bin string, args ...string) *demoProc {
	t.Helper()
	d := &demoProc{exited: make(chan struct{}), lines: make(chan string, 1000)}
	d.cmd = exec.Command(bin, append([]string{"demo"}, args...)...)
	pr, pw := io.Pipe()
	d.cmd.Stdout, d.cmd.Stderr = pw, pw
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		pw.Close()
		close(d.exited)
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.mu.Lock()
			d.out.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			select {
			case d.lines <- sc.Text():
			default:
			}
		}
		close(d.lines)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			d.cmd.Process.Signal(os.Interrupt)
			select {
			case <-d.exited:
			case <-time.After(10 * time.Second):
				d.cmd.Process.Kill()
				<-d.exited
			}
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", d.output())
		}
	})
	return d
}

func (d *demoProc) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// waitLine waits for an output line matching re and returns its submatches.
func (d *demoProc) waitLine(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-d.lines:
			if !ok {
				t.Fatalf("demo exited before printing a line matching %s\n%s", re, d.output())
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no line matching %s within %s\n%s", re, timeout, d.output())
		}
	}
}

// lineContaining returns the trimmed output line holding all of subs.
func (d *demoProc) lineContaining(t *testing.T, subs ...string) string {
	t.Helper()
outer:
	for _, l := range strings.Split(d.output(), "\n") {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue outer
			}
		}
		return strings.TrimSpace(l)
	}
	t.Fatalf("no output line containing %q\n%s", subs, d.output())
	return ""
}

// demoClient trusts the demo CA and dials addr whatever the URL's host.
func demoClient(t *testing.T, caFile, addr string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", caFile)
	}
	var dialer net.Dialer
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func demoGet(t *testing.T, c *http.Client, url, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %q): %v", url, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp, string(b)
}
