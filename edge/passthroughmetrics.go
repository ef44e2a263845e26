package edge

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgectl/edge/edge/passthrough"
)

// Metrics of passthrough sites (names prefixed "edge_passthrough_"). Per-site series are
// deleted when a snapshot without the site is published.
const (
	metricPTConns      = "edge_passthrough_connections_total"
	metricPTOpen       = "edge_passthrough_connections_open"
	metricPTBytes      = "edge_passthrough_bytes_total"
	metricPTDialErrors = "edge_passthrough_upstream_dial_errors_total"
	metricPTRefused    = "edge_passthrough_refused_total"
	metricPTFallbacks  = "edge_passthrough_copy_fallbacks_total"
)

// Reasons of edge_passthrough_refused_total.
const (
	ptRefusedTooLarge   = "clienthello_too_large" // the ClientHello exceeded maxPassthroughHello
	ptRefusedNoUpstream = "no_upstream"           // every upstream refused or timed out
	ptRefusedDraining   = "draining"              // the server is shutting down
)

// ptMetrics are the passthrough collectors.
type ptMetrics struct {
	conns, dialErrors *prometheus.CounterVec // site
	open              *prometheus.GaugeVec   // site
	bytes             *prometheus.CounterVec // site, direction (to_upstream, to_client)
	refused           *prometheus.CounterVec // reason
}

// newPTMetrics creates the passthrough collectors and registers them.
func newPTMetrics(reg prometheus.Registerer) *ptMetrics {
	m := &ptMetrics{
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPTConns, Help: "Connections routed to a passthrough site by the SNI of their ClientHello, by site.",
		}, []string{"site"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: metricPTOpen, Help: "Passthrough connections open, by site.",
		}, []string{"site"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPTBytes, Help: "Bytes copied by passthrough connections, by site and direction (to_upstream, to_client); the replayed ClientHello and the PROXY header included.",
		}, []string{"site", "direction"}),
		dialErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPTDialErrors, Help: "Failed connection attempts to passthrough upstreams, by site (the next upstream is tried).",
		}, []string{"site"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPTRefused, Help: "Passthrough connections closed before reaching an upstream, by reason (clienthello_too_large, no_upstream, draining).",
		}, []string{"reason"}),
	}
	fallbacks := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: metricPTFallbacks, Help: "Passthrough connection directions copied through user space because no pipe could be made for splice(2) (too many open files), since the process started.",
	}, func() float64 { return float64(passthrough.CopyFallbacks()) })
	reg.MustRegister(m.conns, m.open, m.bytes, m.dialErrors, m.refused, fallbacks)
	for _, r := range []string{ptRefusedTooLarge, ptRefusedNoUpstream, ptRefusedDraining} {
		m.refused.WithLabelValues(r)
	}
	return m
}

// ptSeries are the series of one passthrough site entry, looked up once (siteSeries)
// instead of for every connection: WithLabelValues hashes the labels and takes the
// vector's lock, five times per connection. A site entry lives as long as the site is
// unchanged; a removed site's series are deleted (forget), and the entry's cached
// series then count nothing exported, as the connections left open did before.
type ptSeries struct {
	m                 *ptMetrics // the collectors they are of
	conns, dialErrors prometheus.Counter
	open              prometheus.Gauge
	toUp, toClient    prometheus.Counter
}

// siteSeries returns the series of the passthrough site entry e, cached on it.
func (m *ptMetrics) siteSeries(e *siteEntry) *ptSeries {
	if s := e.ptSeries.Load(); s != nil && s.m == m {
		return s
	}
	name := e.site.Name
	s := &ptSeries{m: m, conns: m.conns.WithLabelValues(name), dialErrors: m.dialErrors.WithLabelValues(name),
		open: m.open.WithLabelValues(name), toUp: m.bytes.WithLabelValues(name, "to_upstream"),
		toClient: m.bytes.WithLabelValues(name, "to_client")}
	e.ptSeries.Store(s)
	return s
}

// forget deletes the series of the site named name.
func (m *ptMetrics) forget(name string) {
	m.conns.DeleteLabelValues(name)
	m.open.DeleteLabelValues(name)
	m.dialErrors.DeleteLabelValues(name)
	m.bytes.DeleteLabelValues(name, "to_upstream")
	m.bytes.DeleteLabelValues(name, "to_client")
}
