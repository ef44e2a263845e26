package statuspage

import (
	"time"

	"github.com/edgectl/edge/reconcile"
)

// summary is everything on the page but the site table and the upstreams: what
// /ui/api/summary answers.
type summary struct {
	Now        time.Time                   `json:"now"`
	Serving    reconcile.ServingStatus     `json:"serving"`
	LastPoll   reconcile.PollStatus        `json:"lastPoll"`
	Rejected   *rejectedView               `json:"rejected,omitempty"`
	StateError string                      `json:"stateError,omitempty"`
	History    []reconcile.ReconcileRecord `json:"history"`
	Counts     siteCounts                  `json:"counts"`
	Expiry     []expiryBucket              `json:"expiry"`
	// Refresh is how often the page fetches the API, in milliseconds.
	Refresh int64 `json:"refreshMs"`
}

// siteCounts counts the sites by state.
type siteCounts struct {
	Total   int `json:"total"`
	Serving int `json:"serving"`
	Stale   int `json:"stale"`
	Failed  int `json:"failed"`
}

// rejectedView is the rejected commit with a link for each diagnostic.
type rejectedView struct {
	Commit      string           `json:"commit"`
	At          time.Time        `json:"at"`
	Error       string           `json:"error,omitempty"`
	Diagnostics []diagnosticView `json:"diagnostics"`
}

// diagnosticView is one diagnostic; Link is empty without a repo URL template.
type diagnosticView struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Link     string `json:"link,omitempty"`
}

// summarize builds the summary of st.
func (p *page) summarize(st *reconcile.Status) summary {
	now := p.opts.Now()
	s := summary{Now: now, Serving: st.Serving, LastPoll: st.LastPoll, StateError: st.StateError,
		History: st.History, Expiry: expiryTimeline(st.Sites, now), Refresh: p.opts.Refresh.Milliseconds()}
	if s.History == nil {
		s.History = []reconcile.ReconcileRecord{}
	}
	for i := range st.Sites {
		s.Counts.Total++
		switch st.Sites[i].State {
		case reconcile.SiteServing:
			s.Counts.Serving++
		case reconcile.SiteStale:
			s.Counts.Stale++
		case reconcile.SiteFailed:
			s.Counts.Failed++
		}
	}
	if rej := st.Rejected; rej != nil {
		v := &rejectedView{Commit: rej.Commit, At: rej.At, Error: rej.Error, Diagnostics: make([]diagnosticView, len(rej.Errors))}
		for i, d := range rej.Errors {
			v.Diagnostics[i] = diagnosticView{File: d.File, Line: d.Line, Col: d.Col, Severity: string(d.Severity),
				Message: d.Message, Link: p.links.link(rej.Commit, d.File, d.Line, d.Col)}
		}
		s.Rejected = v
	}
	return s
}

// expiryBucket counts the sites whose certificate expires in [From, To) days from now;
// To is -1 for "and later", Label says it in words. Days is what the site table's expires
// filter takes to list them (and the sooner ones).
type expiryBucket struct {
	Label string `json:"label"`
	From  int    `json:"fromDays"`
	To    int    `json:"toDays"`
	Count int    `json:"count"`
}

// expiryBuckets are the timeline's rows, soonest first; the first holds expired ones.
var expiryBuckets = []expiryBucket{
	{Label: "expired", From: -1 << 30, To: 0},
	{Label: "this week", From: 0, To: 7},
	{Label: "1–2 weeks", From: 7, To: 14},
	{Label: "2–3 weeks", From: 14, To: 21},
	{Label: "3–4 weeks", From: 21, To: 28},
	{Label: "1–2 months", From: 28, To: 60},
	{Label: "2–3 months", From: 60, To: 90},
	{Label: "later", From: 90, To: -1},
}

// expiryTimeline counts the served certificates of sites by weeks to expiry.
func expiryTimeline(sites []reconcile.SiteStatus, now time.Time) []expiryBucket {
	out := append([]expiryBucket(nil), expiryBuckets...)
	for i := range sites {
		na := sites[i].NotAfter
		if na.IsZero() {
			continue
		}
		left := na.Sub(now)
		days := int(left / (24 * time.Hour))
		if left < 0 {
			days = -1
		}
		for b := range out {
			if days >= out[b].From && (out[b].To < 0 || days < out[b].To) {
				out[b].Count++
				break
			}
		}
	}
	return out
}
