package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestAgentPassthroughUpstreamHealth runs the agent binary with a passthrough site whose
// two upstreams are health-checked: the status page's upstream list (/ui/api/upstreams)
// shows both up, then, once one stops listening, that one down and the site unhealthy.
func TestAgentPassthroughUpstreamHealth(t *testing.T) {
	d := newDirRepo(t)
	d.write("alpha")
	keep, stop := tcpUpstream(t), tcpUpstream(t)
	d.repo.CommitStrings("passthrough site pt", map[string]string{"sites/pt.cue": fmt.Sprintf(
		"package edge\n\nsites: pt: {\n\thosts: [\"pt.example.test\"]\n\tpassthrough: {\n\t\tupstreams: [%q, %q]\n"+
			"\t\thealth_check: {interval: \"1s\", timeout: \"500ms\"}\n\t}\n}\n", keep.Addr(), stop.Addr())})
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "300ms", "--keys", "dir", "--key-dir", d.keyDir)
	want := func(state string) func() bool {
		return func() bool {
			r, ok := ptRoute(t, p.admin, "pt")
			return ok && len(r.Upstreams) == 2 &&
				r.Upstreams[0].State == "up" && r.Upstreams[1].State == state && r.Healthy == (state == "up")
		}
	}
	p.waitFor("pt's upstreams up on the status page", 30*time.Second, want("up"))
	r, _ := ptRoute(t, p.admin, "pt")
	if r.Upstreams[0].URL != "tcp://"+keep.Addr().String() || !r.Upstreams[0].HealthChecked {
		t.Errorf("upstream %+v; want tcp://%s, health-checked", r.Upstreams[0], keep.Addr())
	}
	stop.Close()
	p.waitFor("the closed upstream down on the status page", 30*time.Second, want("down"))
}

// tcpUpstream listens on loopback and closes what it accepts, until closed or the test ends.
func tcpUpstream(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// ptRouteView is a row of /ui/api/upstreams.
type ptRouteView struct {
	Site      string
	Healthy   bool
	Upstreams []struct {
		URL, State    string
		HealthChecked bool
	}
}

// ptRoute returns the row of site from the agent's /ui/api/upstreams?q=site.
func ptRoute(t *testing.T, admin, site string) (ptRouteView, bool) {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/ui/api/upstreams?q=" + site)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Routes []ptRouteView }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/ui/api/upstreams: %d %v", resp.StatusCode, err)
	}
	for _, r := range page.Routes {
		if r.Site == site {
			return r, true
		}
	}
	return ptRouteView{}, false
}
