package proxy

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

// weightedHandler returns a handler of len(weights) upstreams (never contacted) with the
// given weights and policy.
func weightedHandler(t *testing.T, balance site.Balance, weights ...int) *Handler {
	t.Helper()
	m := newManager(t, Options{})
	var ups []*url.URL
	for i := range weights {
		ups = append(ups, &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", 40001+i)})
	}
	return mustHandler(t, m, site.Route{Path: "/", Upstreams: ups, Weights: weights, Balance: balance})
}

// picks returns the letters of n picks: "a" for target 0, "b" for 1, ...
func picks(h *Handler, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('a' + h.pick(0)))
	}
	return b.String()
}

// TestSmoothWeightedRoundRobin: the sequence is nginx's (weights 5, 1, 1 give "aabacaa"),
// and over any multiple of the weights' sum each upstream gets exactly its share.
func TestSmoothWeightedRoundRobin(t *testing.T) {
	h := weightedHandler(t, site.RoundRobin, 5, 1, 1)
	if got := picks(h, 14); got != "aabacaaaabacaa" {
		t.Errorf("sequence %q; want nginx's smooth sequence %q", got, "aabacaaaabacaa")
	}
	canary := weightedHandler(t, site.RoundRobin, 95, 5)
	seq := picks(canary, 10000)
	if n := strings.Count(seq, "b"); n != 500 {
		t.Errorf("canary got %d of 10000; want 500", n)
	}
	// Smooth: the canary's requests are spread out, one every 20.
	last := -1
	for i, c := range seq {
		if c != 'b' {
			continue
		}
		if last >= 0 && i-last != 20 {
			t.Fatalf("canary picks %d and %d are %d apart; want 20 (smooth spreading)", last, i, i-last)
		}
		last = i
	}
}

// TestWeightedEjectionRedistributes: an upstream that is down takes no part, and its
// share goes to the others in proportion to their weights (3:1 here, not 1:1).
func TestWeightedEjectionRedistributes(t *testing.T) {
	h := weightedHandler(t, site.RoundRobin, 6, 3, 1)
	h.targets[0].up.down.Store(true)
	seq := picks(h, 400)
	if a, b, c := strings.Count(seq, "a"), strings.Count(seq, "b"), strings.Count(seq, "c"); a != 0 || b != 300 || c != 100 {
		t.Errorf("with a down: a=%d b=%d c=%d of 400; want 0, 300, 100", a, b, c)
	}
	h.targets[0].up.down.Store(false)
	h.targets[2].up.down.Store(true)
	seq = picks(h, 900)
	if a, b := strings.Count(seq, "a"), strings.Count(seq, "b"); a != 600 || b != 300 {
		t.Errorf("with c down: a=%d b=%d of 900; want 600, 300", a, b)
	}
	// Every one down by health checks: none.
	for i := range h.targets {
		h.targets[i].up.down.Store(true)
	}
	if i := h.pick(0); i != -1 {
		t.Errorf("all down: picked %d; want -1", i)
	}
}

// TestWeightedSkipsTried: a retry never goes back to an upstream already tried.
func TestWeightedSkipsTried(t *testing.T) {
	h := weightedHandler(t, site.RoundRobin, 10, 1)
	for range 50 {
		if i := h.pick(1); i != 1 {
			t.Fatalf("with a tried: picked %d; want 1", i)
		}
	}
	if i := h.pick(3); i != -1 {
		t.Errorf("both tried: picked %d; want -1", i)
	}
}

// TestWeightedLeastConn: in-flight requests are divided by the weights; at equal load
// (none in flight) the weights decide, smoothly.
func TestWeightedLeastConn(t *testing.T) {
	h := weightedHandler(t, site.LeastConn, 3, 1)
	if seq := picks(h, 8); strings.Count(seq, "a") != 6 {
		t.Errorf("idle: sequence %q; want 6 a in 8 (weights 3:1)", seq)
	}
	a, b := h.targets[0].up, h.targets[1].up
	a.inflight.Store(3) // 3/3 = 1 per weight
	b.inflight.Store(0)
	if i := h.pick(0); i != 1 {
		t.Errorf("a 3/3, b 0/1: picked %d; want b", i)
	}
	a.inflight.Store(2) // 2/3 < 1/1
	b.inflight.Store(1)
	if i := h.pick(0); i != 0 {
		t.Errorf("a 2/3, b 1/1: picked %d; want a", i)
	}
	a.inflight.Store(4) // 4/3 > 1/1
	if i := h.pick(0); i != 1 {
		t.Errorf("a 4/3, b 1/1: picked %d; want b", i)
	}
}

// TestEqualWeightsAreUnweighted: equal weights use the lock-free rotation.
func TestEqualWeightsAreUnweighted(t *testing.T) {
	h := weightedHandler(t, site.RoundRobin, 5, 5, 5)
	if h.weighted {
		t.Error("weights 5, 5, 5 are balanced as weighted; want the plain rotation")
	}
	if seq := picks(h, 6); strings.Count(seq, "a") != 2 || strings.Count(seq, "c") != 2 {
		t.Errorf("sequence %q; want each twice", seq)
	}
}

// TestWeightedFailsOpen: when every untried upstream is passively ejected, the one whose
// ejection ends first is tried, as without weights.
func TestWeightedFailsOpen(t *testing.T) {
	h := weightedHandler(t, site.RoundRobin, 5, 1)
	o := &Options{}
	h.targets[0].up.failed(o)
	h.targets[0].up.failed(o) // ejected for 2s
	h.targets[1].up.failed(o) // ejected for 1s: ends first
	if i := h.pick(0); i != 1 {
		t.Errorf("picked %d; want 1 (its ejection ends first)", i)
	}
}

func TestWeightsRefused(t *testing.T) {
	m := newManager(t, Options{})
	a, b := &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, &url.URL{Scheme: "http", Host: "127.0.0.1:2"}
	for _, tc := range []struct {
		weights []int
		want    string
	}{
		{[]int{0, 1}, "weight 0; want 1 to 1000"},
		{[]int{1, -5}, "weight -5; want 1 to 1000"},
		{[]int{1, 1 << 40}, "want 1 to 1000"},
		{[]int{1}, "1 weights for 2 upstreams"},
	} {
		_, err := m.Handler("x /", &site.Route{Path: "/", Upstreams: []*url.URL{a, b}, Weights: tc.weights})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("weights %v: error %v; want it to say %q", tc.weights, err, tc.want)
		}
	}
}

// TestWeightsInKey: a route whose weights change gets a new handler (it is a new
// configuration); the upstreams' shared state is kept.
func TestWeightsInKey(t *testing.T) {
	m := newManager(t, Options{})
	a, b := &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, &url.URL{Scheme: "http", Host: "127.0.0.1:2"}
	h1 := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{a, b}, Weights: []int{95, 5}})
	h2 := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{a, b}, Weights: []int{50, 50}})
	h3 := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{a, b}, Weights: []int{95, 5}})
	if h1 == h2 || h1 != h3 {
		t.Errorf("handlers: 95/5 %p, 50/50 %p, 95/5 again %p; want the first and last the same only", h1, h2, h3)
	}
	if h1.targets[0].up != h2.targets[0].up {
		t.Error("the upstream's state is not shared between the two weightings")
	}
}

// TestWeightInStatus: a route's upstream status carries its weight, for the status page.
func TestWeightInStatus(t *testing.T) {
	h := weightedHandler(t, site.RoundRobin, 95, 5)
	if st := h.Upstreams(); len(st) != 2 || st[0].Weight != 95 || st[1].Weight != 5 {
		t.Errorf("status %+v; want weights 95 and 5", st)
	}
	m := newManager(t, Options{})
	plain := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}}})
	if st := plain.Upstreams(); st[0].Weight != 0 {
		t.Errorf("unweighted route: weight %d; want 0", st[0].Weight)
	}
}
