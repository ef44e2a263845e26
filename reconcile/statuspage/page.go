// Package statuspage serves the agent's status as a web page on the admin listener: GET
// /ui/ (HTML, CSS and a small script, all embedded; no external assets) and the JSON API
// the page refreshes itself from, under /ui/api/. The page is read-only.
//
// The first view is rendered on the server, so the page works without JavaScript (the site
// table's search, filter, sort and paging are plain links and a form); with JavaScript it
// fetches the API every few seconds and updates itself in place.
//
// Everything shown that comes from the config repo (site names, hosts, file names,
// diagnostics) is treated as hostile: html/template escapes it on the server, the script
// only ever sets textContent and attributes, and the Content-Security-Policy allows no
// inline script.
//
// The API pages, filters and sorts on the server, so a page of the site table costs the
// same at 10,000 sites as at 10:
//
//	GET /ui/api/summary    serving commit, last poll, rejected commit with its diagnostics,
//	                       reconcile history, site counts, certificate expiry timeline
//	GET /ui/api/sites      ?q=&state=&expires=&sort=&order=&offset=&limit= (see siteQuery)
//	GET /ui/api/upstreams  ?q=&offset=&limit=: routes and their upstreams, unhealthy first
//
// GET /ui/api/fleet is not served here: the agent mounts it when it is given fleet peers,
// and the page's fleet panel hides itself while it answers 404.
package statuspage

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
)

// StatusSource gives the agent's status (*reconcile.Agent is the real one).
type StatusSource interface {
	Status() reconcile.Status
}

// Edge gives the data plane's own counters (*edge.Server is the real one).
type Edge interface {
	SiteTraffic(name string) edge.SiteTraffic
	RouteHealth() []edge.RouteHealth
}

// Options configure the page. Status is required.
type Options struct {
	Status StatusSource
	// Edge, when set, adds requests, 5xx rates and upstream health. Nil shows none.
	Edge Edge
	// RepoURL, when set, links every diagnostic to the config repo's web UI: an http or
	// https URL template in which {commit}, {file}, {line} and {col} are replaced, e.g.
	// "https://git.example/org/config/blob/{commit}/{file}#L{line}".
	RepoURL string
	// Subdir is the agent's --subdir: diagnostics name files below it, links need the path
	// from the repo's root.
	Subdir string
	// Refresh is how often the page fetches the API again. Zero means 5s.
	Refresh time.Duration
	// Now is the clock (expiry buckets); nil means time.Now.
	Now func() time.Time
}

//go:embed assets
var assets embed.FS

// page is the handler of /ui/.
type page struct {
	opts  Options
	links *linker
	tmpl  *template.Template
	mux   *http.ServeMux
}

// New returns the handler of /ui/ and everything below it; mount it at "/ui/". It fails if
// RepoURL is not an http or https URL template.
func New(o Options) (http.Handler, error) {
	if o.Status == nil {
		return nil, fmt.Errorf("statuspage: no status source")
	}
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	links, err := newLinker(o.RepoURL, o.Subdir)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("index.html").Funcs(templateFuncs).ParseFS(assets, "assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("statuspage: %w", err)
	}
	p := &page{opts: o, links: links, tmpl: tmpl, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /ui/{$}", p.serveIndex)
	p.mux.HandleFunc("GET /ui/app.js", p.serveAsset("assets/app.js", "text/javascript; charset=utf-8"))
	p.mux.HandleFunc("GET /ui/style.css", p.serveAsset("assets/style.css", "text/css; charset=utf-8"))
	p.mux.HandleFunc("GET /ui/api/summary", p.serveSummary)
	p.mux.HandleFunc("GET /ui/api/sites", p.serveSites)
	p.mux.HandleFunc("GET /ui/api/upstreams", p.serveUpstreams)
	return p, nil
}

// ServeHTTP sets the headers every answer carries and routes the request.
func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	p.mux.ServeHTTP(w, r)
}

// serveAsset serves an embedded file.
func (p *page) serveAsset(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		b, err := assets.ReadFile(name)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Write(b)
	}
}
