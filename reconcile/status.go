package reconcile

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/schema"
)

// SiteState is the state of one site in Status.
type SiteState string

// Site states reported in Status.
const (
	// SiteServing: the site is served at the commit the agent last applied.
	SiteServing SiteState = "serving"
	// SiteStale: the latest declaration of the site could not be compiled (e.g. its key
	// could not be fetched); its last good version is still served.
	SiteStale SiteState = "stale"
	// SiteFailed: the site has never compiled and is not served.
	SiteFailed SiteState = "failed"
)

// PollOutcome is what one poll of the config repo (one Agent.Step) came to.
type PollOutcome string

// Poll outcomes reported in Status.LastPoll and the edge_agent_polls_total metric.
const (
	// PollApplied: a new commit, or a key read again, is served, every site of it.
	PollApplied PollOutcome = "applied"
	// PollPartial: as PollApplied, but some sites failed (stale or failed).
	PollPartial PollOutcome = "partial"
	// PollUnchanged: nothing to do: the same commit, and no key due or no site changed.
	PollUnchanged PollOutcome = "unchanged"
	// PollRejected: the commit is invalid or refused; the previous snapshot keeps serving.
	PollRejected PollOutcome = "rejected"
	// PollError: the repo could not be reached.
	PollError PollOutcome = "error"
)

// Status is what the agent reports on /status and through `edgectl status`. It never holds
// key material. The Agent publishes it as an immutable value: one it returned never changes.
type Status struct {
	// Serving is the revision in the running snapshot; Commit is empty before the first one.
	Serving ServingStatus `json:"serving"`
	// LastPoll is the outcome of the most recent poll of the config repo.
	LastPoll PollStatus `json:"lastPoll"`
	// Rejected is the last revision refused as a whole (invalid config), nil if the latest
	// revision seen was accepted.
	Rejected *RejectedStatus `json:"rejected,omitempty"`
	// Sites, sorted by name.
	Sites []SiteStatus `json:"sites"`
	// StateError is the last failure to read or write the state directory (the saved
	// revision was ignored, or the accepted one could not be saved); empty when all went
	// well or there is no state directory.
	StateError string `json:"stateError,omitempty"`
	// History is the last HistoryLen reconciles, newest first (see ReconcileRecord).
	History []ReconcileRecord `json:"history"`
}

// ServingStatus describes the snapshot being served.
type ServingStatus struct {
	Commit string `json:"commit"`
	// CommitTime is Commit's committer time, zero when unknown; fleet status orders the
	// commits agents serve by it.
	CommitTime time.Time `json:"commitTime,omitzero"`
	// Signer is the key that signed Commit ("FINGERPRINT Name <email>") when the agent
	// requires signed commits; empty otherwise.
	Signer     string    `json:"signer,omitempty"`
	Generation uint64    `json:"generation"`
	Since      time.Time `json:"since,omitzero"`
	// Persisted is set while Commit is the revision restored from the state directory at
	// start and the repo has not confirmed it or given a newer valid one; nil otherwise.
	Persisted *PersistedStatus `json:"persisted,omitempty"`
}

// PersistedStatus says why the agent serves the revision restored from its state directory.
type PersistedStatus struct {
	// Reason is why it is not serving the repo's newest commit: "restored at start; the
	// repo not polled yet", "repo unreachable: ...", or "HEAD 0123abcd rejected:
	// sites/x.cue:3:5: ...".
	Reason string `json:"reason"`
}

// PollStatus describes the latest poll.
type PollStatus struct {
	At time.Time `json:"at,omitzero"`
	// Outcome is PollApplied, PollUnchanged, PollRejected, PollPartial (some sites failed)
	// or PollError (the repo could not be reached).
	Outcome PollOutcome `json:"outcome"`
	// Commit seen at the remote, if the poll got that far.
	Commit   string  `json:"commit,omitempty"`
	Error    string  `json:"error,omitempty"`
	Duration float64 `json:"durationSeconds"`
}

// RejectedStatus is a revision that failed validation and is not served.
type RejectedStatus struct {
	Commit string             `json:"commit"`
	At     time.Time          `json:"at"`
	Errors schema.Diagnostics `json:"errors"`
	// Error is set instead of Errors when the failure was not a validation diagnostic.
	Error string `json:"error,omitempty"`
}

// SiteStatus is the state of one site.
type SiteStatus struct {
	Name  string    `json:"name"`
	File  string    `json:"file"`
	State SiteState `json:"state"`
	Hosts []string  `json:"hosts"`
	// Commit is the config repo commit the served version of the site came from. (Its
	// JSON name, "revision", is the field's former Go name, kept for clients.)
	Commit string `json:"revision,omitempty"`
	// NotAfter is the served certificate's expiry.
	NotAfter   time.Time `json:"notAfter,omitzero"`
	KeyVersion int       `json:"keyVersion"`
	// Passthrough marks a site whose TLS the edge passes through: it has no certificate
	// (NotAfter is zero) and no key.
	Passthrough bool   `json:"passthrough,omitempty"`
	Error       string `json:"error,omitempty"`
	// Issue is the state of a site's issued certificate (tls: {issuer}): issuing, issued,
	// renewing or failed, with the reason and the next attempt; nil for a committed one.
	Issue *issue.SiteStatus `json:"issue,omitempty"`
}

// StatusHandler serves the agent's status as JSON. With ?sites=problems, Sites holds only
// the sites not serving (stale or failed): what fleet status reads, bytes where the whole
// list of 10,000 sites is megabytes.
func StatusHandler(a *Agent) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := *a.statusView() // read-only: encoded, its slices never changed
		if r.URL.Query().Get("sites") == "problems" {
			st.Sites = problemSites(st.Sites)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	})
}

// problemSites returns the sites of all that are not serving, in a new slice.
func problemSites(all []SiteStatus) []SiteStatus {
	out := []SiteStatus{}
	for _, s := range all {
		if s.State != SiteServing {
			out = append(out, s)
		}
	}
	return out
}
