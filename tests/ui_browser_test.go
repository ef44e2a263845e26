package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/statuspage"
	"github.com/edgectl/edge/schema/sitegen"
)

// The tests of this file open the agent's status page (/ui/ on the admin listener) in a
// real headless Chromium driven by chromedp, against the agent binary following a real git
// repo with a key directory. Screenshots go to $EDGE_TEST_ARTIFACTS (tests/run.sh sets it,
// so CI keeps them) or to the test's temporary directory.

// uiBrowser is a headless Chromium tab.
type uiBrowser struct {
	t   *testing.T
	ctx context.Context
	dir string // where screenshots go
}

// newUIBrowser starts Chromium. Without it the test fails under CI=true and skips
// otherwise.
func newUIBrowser(t *testing.T, flags ...chromedp.ExecAllocatorOption) *uiBrowser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not installed (Debian package chromium; .ci/run installs it)")
		}
		t.Skip("chromium not installed (apt-get install chromium); skipping the browser test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.WindowSize(1280, 1000), chromedp.Flag("disable-gpu", true))
	opts = append(opts, flags...)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("starting chromium: %v", err)
	}
	dir := os.Getenv("EDGE_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &uiBrowser{t: t, ctx: ctx, dir: dir}
}

// do runs actions, each step bounded by a generous backstop.
func (b *uiBrowser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot("failed")
		b.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *uiBrowser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitJS polls the boolean expression cond until it holds; it returns how long that took.
func (b *uiBrowser) waitJS(what, cond string, backstop time.Duration) time.Duration {
	b.t.Helper()
	start := time.Now()
	for time.Since(start) < backstop {
		if eval[bool](b, "!!("+cond+")") {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.screenshot("timeout")
	b.t.Fatalf("timed out after %v waiting for %s (%s)", backstop, what, cond)
	return 0
}

// screenshot saves the whole page as <test>-<name>.png.
func (b *uiBrowser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(b.dir, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(b.t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", file)
}

// rows returns the site names of the site table, top to bottom.
func (b *uiBrowser) rows() []string {
	return eval[[]string](b, `[...document.querySelectorAll('#site-rows tr')].map(tr => tr.dataset.site)`)
}

// rowsAre is the JavaScript condition that the site table lists exactly names, in order.
func rowsAre(names ...string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#site-rows tr')].map(tr => tr.dataset.site).join(',') === %q`, strings.Join(names, ","))
}

// setSearch types q into the search box, replacing what is there.
func (b *uiBrowser) setSearch(q string) {
	b.t.Helper()
	eval[chromedp.Void](b, `document.querySelector('#site-form input[name=q]').value = ''`)
	b.do(chromedp.SendKeys(chromedp.CSS(`#site-form input[name=q]`), q))
}

// in returns the browser reporting to the (sub)test t.
func (b *uiBrowser) in(t *testing.T) *uiBrowser {
	c := *b
	c.t = t
	return &c
}

// hostileGamma is a declaration of site gamma whose one diagnostic (line 7) quotes a script.
const hostileGamma = "package edge\n\nsites: gamma: {\n\thosts: [\"gamma.example.test\"]\n\tcert: \"certs/gamma.pem\"\n" +
	"\tkey: path: \"edge/gamma\"\n\troutes: \"/\": upstreams: [\"ftp://<script>window.edgeXSS=1</script>\"]\n}\n"

// hostileFile is a file name that is markup.
const hostileFile = `sites/"><img src=x onerror="window.edgeXSS=2">.cue`

func TestUIBrowser(t *testing.T) {
	d := newDirRepo(t)
	d.write("alpha")
	d.write("beta")
	d.repo.Commit("alpha and beta", nil)
	const repoURL = "https://git.example/org/config/blob/{commit}/{file}#L{line}"
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "300ms", "--keys", "dir", "--key-dir", d.keyDir, "--ui-repo-url", repoURL)
	b := newUIBrowser(t)
	b.do(chromedp.Navigate("http://"+p.admin+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`#site-rows tr[data-site="beta"]`)))
	b.waitJS("the page to go live", `document.getElementById('live').textContent.startsWith('(live')`, 30*time.Second)
	eval[chromedp.Void](b, `window.edgeNotReloaded = true`)
	if !eval[bool](b, `document.getElementById('fleet').hidden`) {
		t.Error("fleet panel shown; want it hidden while /ui/api/fleet answers 404 (no --fleet peers)")
	}
	b.screenshot("1-first")

	t.Run("site added by commit appears by itself", func(t *testing.T) {
		b := b.in(t)
		c := d.add("gamma")
		d := b.waitJS("gamma in the table", `document.querySelector('#site-rows tr[data-site="gamma"]')`, 60*time.Second)
		t.Logf("commit to the page showing it: %v (poll 300ms, page refresh 5s)", d)
		b.waitJS("the serving commit", fmt.Sprintf(`document.getElementById('serving-commit').textContent === %q`, c), 30*time.Second)
		if !eval[bool](b, `window.edgeNotReloaded === true`) {
			t.Error("the page was reloaded; want it updated in place")
		}
		first := eval[string](b, `document.querySelector('#history-rows tr').textContent`)
		if !strings.Contains(first, c[:12]) || !strings.Contains(first, "applied") {
			t.Errorf("newest history row %q; want %s applied", first, c[:12])
		}
		b.screenshot("2-added")
	})

	t.Run("rejected commit shows every diagnostic, escaped and linked", func(t *testing.T) {
		b := b.in(t)
		bad := d.repo.CommitStrings("broken", map[string]string{"sites/gamma.cue": hostileGamma, hostileFile: "package edge\n\nsites: {\n"})
		b.waitJS("the rejection", fmt.Sprintf(`!document.getElementById('rejected').hidden && document.getElementById('rejected-commit').textContent === %q`, bad), 60*time.Second)
		diags := eval[[]string](b, `[...document.querySelectorAll('#diagnostics li')].map(li => li.textContent)`)
		links := eval[[]string](b, `[...document.querySelectorAll('#diagnostics a')].map(a => a.href)`)
		t.Logf("diagnostics: %q\nlinks: %q", diags, links)
		text := strings.Join(diags, "\n")
		if len(diags) < 2 || !strings.Contains(text, "sites/gamma.cue:7:") || !strings.Contains(text, "<script>window.edgeXSS=1</script>") || !strings.Contains(text, hostileFile+":") {
			t.Errorf("diagnostics %q; want gamma's at line 7 quoting the script, and one in %s", diags, hostileFile)
		}
		want := "https://git.example/org/config/blob/" + bad + "/sites/gamma.cue#L7"
		if len(links) != len(diags) || !strings.Contains(strings.Join(links, " "), want) {
			t.Errorf("links %q; want one per diagnostic, among them %s", links, want)
		}
		if n := eval[int](b, `document.querySelectorAll('#rejected script, #rejected img').length`); n != 0 {
			t.Errorf("%d script or img elements in the rejection: markup from the repo was not escaped", n)
		}
		if x := eval[bool](b, `window.edgeXSS !== undefined`); x {
			t.Error("a script from the config repo ran in the page")
		}
		b.screenshot("3-rejected")
		// The same history in /status: newest first, the rejection, then the two commits.
		h := p.status().History
		if len(h) != 3 || h[0].Commit != bad || h[0].Outcome != reconcile.PollRejected || !strings.Contains(h[0].Error, "(and 1 more)") ||
			h[1].Outcome != reconcile.PollApplied || h[1].Added != 1 || h[2].Added != 2 {
			t.Errorf("/status history %+v; want %s rejected, then gamma added, then alpha and beta", h, bad)
		}
	})

	t.Run("search and sort", func(t *testing.T) {
		b := b.in(t)
		b.setSearch("bet")
		b.waitJS("only beta", rowsAre("beta"), 30*time.Second)
		if !strings.Contains(eval[string](b, `location.search`), "q=bet") {
			t.Errorf("the page's URL does not carry the search")
		}
		b.screenshot("4-search")
		b.setSearch("a") // alpha, beta, gamma all have an a
		b.waitJS("all three", rowsAre("alpha", "beta", "gamma"), 30*time.Second)
		b.do(chromedp.Click(chromedp.CSS(`#site-table a[data-sort="name"]`)))
		b.waitJS("sorted by name, descending", rowsAre("gamma", "beta", "alpha"), 30*time.Second)
		b.screenshot("5-sorted")
		if !eval[bool](b, `window.edgeNotReloaded === true`) {
			t.Error("searching or sorting reloaded the page; want it updated in place")
		}
	})

	t.Run("requests counted by the edge", func(t *testing.T) {
		b := b.in(t)
		for range 3 {
			if code, _, _, err := p.get("beta.example.test"); err != nil || code != 200 {
				t.Fatalf("GET beta: %d %v", code, err)
			}
		}
		b.waitJS("beta's 3 requests in the table", `document.querySelector('#site-rows tr[data-site="beta"] td:nth-child(7)').textContent === '3'`, 30*time.Second)
	})

	t.Run("without JavaScript", func(t *testing.T) {
		body := httpGet(t, "http://"+p.admin+"/ui/?q=bet&sort=name&order=desc")
		if !strings.Contains(body, `data-site="beta"`) || strings.Contains(body, `data-site="alpha"`) {
			t.Errorf("server-rendered search lists the wrong sites")
		}
		if strings.Contains(body, "<script>window.edgeXSS") || !strings.Contains(body, "&lt;script&gt;window.edgeXSS=1&lt;/script&gt;") {
			t.Errorf("server-rendered diagnostics not escaped")
		}
	})
}

// httpGet returns the body of a 200 answer to url.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestUIBrowser10kSites renders the page of an agent serving 10,001 sites, and prints the
// time to the first render and to a filtered view (no assertion on time).
func TestUIBrowser10kSites(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 sites: not in -short")
	}
	d := newDirRepo(t)
	d.write("alpha")
	d.repo.Commit("alpha", nil)
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "1s", "--keys", "dir", "--key-dir", d.keyDir)
	b := newUIBrowser(t) // Chromium starts before the load, so a missing one fails fast

	start := time.Now()
	if _, err := sitegen.WriteRepo(d.repo.Dir, 10000, sitegen.Options{CA: d.ca, KeyDir: d.keyDir, Upstreams: []string{d.backend}}); err != nil {
		t.Fatal(err)
	}
	c := d.repo.Commit("10,000 sites", nil)
	t.Logf("10,000 sites generated and committed in %v", time.Since(start).Round(time.Millisecond))
	took := p.waitFor("10,001 sites served", 10*time.Minute, func() bool {
		st := p.status()
		return st.Serving.Commit == c && len(st.Sites) == 10001
	})
	t.Logf("agent serving 10,001 sites %v after the commit", took.Round(time.Millisecond))
	for _, path := range []string{"/ui/", "/ui/api/summary", "/ui/api/sites", "/ui/api/sites?q=site0999", "/ui/api/sites?sort=errors", "/ui/api/upstreams", "/status"} {
		start := time.Now()
		body := httpGet(t, "http://"+p.admin+path)
		t.Logf("GET %s: %v, %d bytes", path, time.Since(start).Round(time.Microsecond), len(body))
	}

	start = time.Now()
	b.do(chromedp.Navigate("http://"+p.admin+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`#site-rows tr[data-site="site00048"]`)))
	first := time.Since(start)
	live := b.waitJS("the page to go live", `document.getElementById('live').textContent.startsWith('(live')`, time.Minute)
	if n := len(b.rows()); n != 50 {
		t.Errorf("%d rows; want a page of 50", n)
	}
	if got := eval[string](b, `document.getElementById('site-range').textContent`); got != "1–50 of 10001 sites" {
		t.Errorf("range %q; want 1–50 of 10001 sites", got)
	}
	b.screenshot("1-first")

	start = time.Now()
	b.setSearch("site0999")
	b.waitJS("site09990 to site09999", rowsAre("site09990", "site09991", "site09992", "site09993", "site09994",
		"site09995", "site09996", "site09997", "site09998", "site09999"), time.Minute)
	filtered := time.Since(start)
	b.screenshot("2-filtered")

	start = time.Now()
	b.do(chromedp.Click(chromedp.CSS(`#site-table a[data-sort="expiry"]`)))
	b.waitJS("sorted by expiry", `document.querySelector('#site-table a.sorted[data-sort="expiry"]')`, time.Minute)
	sorted := time.Since(start)
	t.Logf("10,001 sites: first render %v (live after %v more), filtered view %v after typing, sort %v",
		first.Round(time.Millisecond), live.Round(time.Millisecond), filtered.Round(time.Millisecond), sorted.Round(time.Millisecond))
}

// fixedStatus is a status source of one value, for a page served without an agent.
type fixedStatus reconcile.Status

func (f *fixedStatus) Status() reconcile.Status { return reconcile.Status(*f) }

// TestUIBrowserFleetPanel serves the page beside a /ui/api/fleet answering as the fleet
// endpoint's contract says, or 404: the panel shows the fleet while it answers and hides
// itself on 404, without a reload.
func TestUIBrowserFleetPanel(t *testing.T) {
	b := newUIBrowser(t)
	page, err := statuspage.New(statuspage.Options{Status: &fixedStatus{Sites: []reconcile.SiteStatus{}}, Refresh: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var fleetOn atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/ui/", page)
	mux.HandleFunc("/ui/api/fleet", func(w http.ResponseWriter, r *http.Request) {
		if !fleetOn.Load() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"agents":[{"addr":"10.0.0.1:9443","commit":"aaaa","state":"serving"},`+
			`{"addr":"<b>10.0.0.2:9443</b>","commit":"bbbb","state":"rejected","error":"<script>window.edgeXSS=3</script>"}],`+
			`"commits":[{"commit":"aaaa","agents":1},{"commit":"bbbb","agents":1}],"converged":false}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b.do(chromedp.Navigate(srv.URL + "/ui/"))
	b.waitJS("the page to go live", `document.getElementById('live').textContent.startsWith('(live')`, 30*time.Second)
	if !eval[bool](b, `document.getElementById('fleet').hidden`) {
		t.Error("fleet panel shown while /ui/api/fleet answers 404")
	}
	fleetOn.Store(true)
	b.waitJS("the fleet panel", `!document.getElementById('fleet').hidden && document.querySelectorAll('#fleet-agents tr').length === 2`, 30*time.Second)
	text := eval[string](b, `document.getElementById('fleet').textContent`)
	if !strings.Contains(text, "not converged") || !strings.Contains(text, "<b>10.0.0.2:9443</b>") || !strings.Contains(text, "<script>window.edgeXSS=3</script>") {
		t.Errorf("fleet panel %q; want not converged and both agents, markup as text", text)
	}
	if eval[bool](b, `window.edgeXSS !== undefined || document.querySelector('#fleet b, #fleet script') !== null`) {
		t.Error("markup from the fleet answer was not escaped")
	}
	b.screenshot("fleet")
	fleetOn.Store(false)
	b.waitJS("the panel hidden again", `document.getElementById('fleet').hidden`, 30*time.Second)
}
