package edge

import (
	"net/http"

	"github.com/edgectl/edge/edge/site"
)

// routeDenier refuses requests of one route's site from a handler wrapping the route (basic
// and forward auth): counted in edge_requests_denied_total, answered with the site's error
// page. The route's wrappers are built from the *Site, before its entry exists.
type routeDenier struct {
	denials Denials
	site    string
	pages   *site.ErrorPages
}

// newRouteDenier returns the routeDenier of st counting into d.
func newRouteDenier(st *Site, d Denials) routeDenier {
	return routeDenier{denials: d, site: st.Name, pages: st.ErrorPages}
}

// deny counts one refusal for reason and answers r with status and the site's page for it.
func (rd routeDenier) deny(w http.ResponseWriter, r *http.Request, status int, reason string) {
	rd.denials.Count(rd.site, reason)
	writeStatusPage(w, r, rd.pages.Page(status), status)
}
