package site

// Balance is a load-balancing policy: how a route picks an upstream for a request.
type Balance string

// The balancing policies.
const (
	// RoundRobin takes the available upstreams in turn. It is the default.
	RoundRobin Balance = "round_robin"
	// LeastConn takes the available upstream with the fewest requests in flight.
	LeastConn Balance = "least_conn"
)

// Valid reports whether b is a known policy or empty (which means RoundRobin).
func (b Balance) Valid() bool {
	return b == "" || b == RoundRobin || b == LeastConn
}
