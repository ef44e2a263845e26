package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
)

// bigStatus is the status of an agent serving n sites.
func bigStatus(n int) reconcile.Status {
	st := reconcile.Status{Serving: reconcile.ServingStatus{Commit: newCommit, CommitTime: t0, Since: t0}}
	for i := range n {
		st.Sites = append(st.Sites, reconcile.SiteStatus{Name: fmt.Sprintf("site-%05d", i), File: fmt.Sprintf("sites/site-%05d.cue", i),
			State: reconcile.SiteServing, Hosts: []string{fmt.Sprintf("site-%05d.example.test", i), fmt.Sprintf("www.site-%05d.example.test", i)},
			Commit: newCommit, NotAfter: t0.Add(90 * 24 * time.Hour), KeyVersion: 3})
	}
	return st
}

// BenchmarkFetch40Agents10kSites: one fleet check of 40 agents serving 10,000 sites each,
// over loopback HTTP: agents answering ?sites=problems with the sites not serving (none
// here), and older agents sending the whole list (a few megabytes each).
func BenchmarkFetch40Agents10kSites(b *testing.B) {
	st := bigStatus(10000)
	full, err := json.Marshal(st)
	if err != nil {
		b.Fatal(err)
	}
	st.Sites = []reconcile.SiteStatus{}
	problems, _ := json.Marshal(st)
	b.Logf("one /status: %d bytes; with ?sites=problems: %d bytes", len(full), len(problems))
	for _, bc := range []struct {
		name   string
		honour bool
	}{{"problems", true}, {"older agents", false}} {
		b.Run(bc.name, func(b *testing.B) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if bc.honour && r.URL.Query().Get("sites") == "problems" {
					w.Write(problems)
					return
				}
				w.Write(full)
			})
			var targets []Target
			for range 40 {
				targets = append(targets, httpTargetB(b, h))
			}
			c, _ := NewClient(ClientOptions{})
			defer c.CloseIdleConnections()
			b.ResetTimer()
			for range b.N {
				for _, r := range Fetch(context.Background(), c, targets, FetchOptions{}) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
		})
	}
}
