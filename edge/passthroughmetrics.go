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

// forget deletes the series of the site named name.
func (m *ptMetrics) forget(name string) {
	m.conns.DeleteLabelValues(name)
	m.open.DeleteLabelValues(name)
	m.dialErrors.DeleteLabelValues(name)
	m.bytes.DeleteLabelValues(name, "to_upstream")
	m.bytes.DeleteLabelValues(name, "to_client")
}
