package main

import (
	"fmt"
	"net/http"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/statuspage"
)

// mountStatusPage serves the status web page at /ui/ on the admin listener: the agent's
// status with the edge's own counters, diagnostics linked to c.UIRepoURL if set.
func mountStatusPage(mux *http.ServeMux, agent *reconcile.Agent, srv *edge.Server, c agentConfig) error {
	page, err := statuspage.New(statuspage.Options{Status: agent, Edge: srv, RepoURL: c.UIRepoURL, Subdir: c.Subdir})
	if err != nil {
		return fmt.Errorf("--ui-repo-url: %w", err)
	}
	mux.Handle("/ui/", page)
	return nil
}
