package statuspage

import (
	"encoding/json"
	"net/http"
)

// serveSummary answers /ui/api/summary.
func (p *page) serveSummary(w http.ResponseWriter, _ *http.Request) {
	st := p.opts.Status.Status()
	writeJSON(w, p.summarize(&st))
}

// serveSites answers /ui/api/sites: one page of the site table; 400 for a bad query.
func (p *page) serveSites(w http.ResponseWriter, r *http.Request) {
	q, err := parseSiteQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	st := p.opts.Status.Status()
	writeJSON(w, p.sitePage(st.Sites, q))
}

// serveUpstreams answers /ui/api/upstreams.
func (p *page) serveUpstreams(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, p.routePage(r.URL.Query()))
}

// writeJSON writes v as JSON. encoding/json escapes <, > and & in strings, so an answer
// read as HTML by mistake runs nothing.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
