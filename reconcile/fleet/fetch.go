package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/edgectl/edge/reconcile"
)

// Result is what one agent's /status said, or why it could not be read.
type Result struct {
	Target Target
	// Serving and Rejected are the agent's reconcile.Status fields of those names.
	Serving  reconcile.ServingStatus
	Rejected *reconcile.RejectedStatus
	// SitesFailing counts the agent's sites that are stale or failed.
	SitesFailing int
	// Err is set when the status could not be read; the fields above are then zero.
	Err error
}

// FetchOptions bound a Fetch. The zero value asks 16 agents at a time, 5 seconds each.
type FetchOptions struct {
	// Concurrency is how many agents are asked at once; 0: 16.
	Concurrency int
	// Timeout bounds the request to one agent; 0: 5s.
	Timeout time.Duration
}

// statusDoc is the part of reconcile.Status fleet status reads; the sites' other fields are
// skipped while decoding.
type statusDoc struct {
	Serving  reconcile.ServingStatus   `json:"serving"`
	Rejected *reconcile.RejectedStatus `json:"rejected"`
	Sites    []struct {
		State reconcile.SiteState `json:"state"`
	} `json:"sites"`
}

// Fetch reads every target's /status, o.Concurrency at a time, and returns the results in
// the order of targets. When ctx is done, the agents not yet answered are results with
// ctx's error.
func Fetch(ctx context.Context, c *Client, targets []Target, o FetchOptions) []Result {
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	results := make([]Result, len(targets))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i] = Result{Target: t, Err: fmt.Errorf("fleet: %s: %w", t.Addr, ctx.Err())}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = fetchOne(ctx, c, t, o.Timeout)
		}()
	}
	wg.Wait()
	return results
}

// fetchOne reads one agent's status within timeout.
func fetchOne(ctx context.Context, c *Client, t Target, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := Result{Target: t}
	body, err := c.Get(ctx, t, "/status?sites=problems") // the whole list of an older agent is counted too
	if err != nil {
		r.Err = err
		return r
	}
	var doc statusDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		r.Err = fmt.Errorf("fleet: %s/status: %w", t.URL, err)
		return r
	}
	r.Serving, r.Rejected = doc.Serving, doc.Rejected
	for _, s := range doc.Sites {
		if s.State != reconcile.SiteServing {
			r.SitesFailing++
		}
	}
	return r
}
