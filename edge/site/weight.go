package site

// Limits of weighted upstreams.
const (
	// MaxWeight is the largest weight of one upstream ("95" and "5" make a 95/5 canary;
	// "999" and "1" a 0.1 % one).
	MaxWeight = 1000
	// MaxUpstreams is the most upstreams a route may list.
	MaxUpstreams = 64
)

// Weight returns the weight of the route's i-th upstream: Weights[i], or 1 when Weights is
// nil.
func (r *Route) Weight(i int) int {
	if r.Weights == nil {
		return 1
	}
	return r.Weights[i]
}
