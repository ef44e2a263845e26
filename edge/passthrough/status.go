package passthrough

import "time"

// UpstreamStatus is the health of one upstream of a pool, for status pages.
type UpstreamStatus struct {
	// Addr is the upstream's host:port.
	Addr string
	// Down is true while active health checks fail.
	Down bool
	// EjectedUntil is the end of the current passive ejection; zero when not ejected.
	EjectedUntil time.Time
	// Failures counts consecutive dial failures.
	Failures int
	// Open is the number of connections open through it.
	Open int64
	// HealthChecked is true when active health checks run.
	HealthChecked bool
}

// Upstreams returns the status of the pool's upstreams, in the declaration's order. It
// reads atomic fields and takes one lock.
func (p *Pool) Upstreams() []UpstreamStatus {
	checked := p.Checking()
	now := time.Now().UnixNano()
	out := make([]UpstreamStatus, len(p.ups))
	for i, up := range p.ups {
		out[i] = UpstreamStatus{Addr: up.Addr, Down: up.down.Load(), Failures: int(up.fails.Load()),
			Open: up.open.Load(), HealthChecked: checked}
		if e := up.ejectedUntil.Load(); e != 0 && now < e {
			out[i].EjectedUntil = time.Unix(0, e)
		}
	}
	return out
}
