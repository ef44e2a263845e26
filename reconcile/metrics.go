package reconcile

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// agentMetrics are the agent's Prometheus collectors. Cardinality stays bounded: per-site
// series exist only for sites that are failing.
type agentMetrics struct {
	polls       *prometheus.CounterVec
	reconcile   prometheus.Histogram
	sites       *prometheus.GaugeVec
	siteFailing *prometheus.GaugeVec
	keyReads    prometheus.Counter
	rejected    prometheus.Gauge
	applied     prometheus.Gauge
	serving     *prometheus.GaugeVec
	persisted   prometheus.Gauge
	// lastPoll and interval let an alert say "no poll reached the repo for N intervals".
	lastPoll prometheus.Gauge
	interval prometheus.Gauge
}

// newAgentMetrics creates the agent's collectors and registers them with reg, if not nil;
// interval is the configured time between polls, exported as is.
func newAgentMetrics(reg prometheus.Registerer, interval time.Duration) *agentMetrics {
	m := &agentMetrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_agent_polls_total",
			Help: "Polls of the config repo by outcome (applied, unchanged, partial, rejected, error).",
		}, []string{"outcome"}),
		reconcile: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "edge_agent_reconcile_duration_seconds",
			Help:    "Time to validate, compile and publish a revision.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
		sites: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_agent_sites",
			Help: "Declared sites by state (serving, stale, failed).",
		}, []string{"state"}),
		siteFailing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_agent_site_failing",
			Help: "1 for each site whose latest declaration is not served (stale or failed); absent otherwise.",
		}, []string{"site", "state"}),
		keyReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_agent_key_reads_total",
			Help: "Private key reads from the key source (Vault or key directory).",
		}),
		rejected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_agent_revision_rejected",
			Help: "1 while the newest revision of the config repo is rejected as invalid.",
		}),
		applied: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_agent_last_applied_timestamp_seconds",
			Help: "Unix time the serving snapshot was published.",
		}),
		serving: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edge_agent_serving_info",
			Help: "1, labelled with the config repo commit being served (one series).",
		}, []string{"commit"}),
		persisted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_agent_serving_persisted",
			Help: "1 while the revision served is the one restored from the state directory at start, not yet confirmed or replaced by the repo.",
		}),
		lastPoll: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_agent_last_successful_poll_timestamp_seconds",
			Help: "Unix time of the last poll that reached the config repo: any outcome but error (a rejected commit was still fetched). 0: none yet.",
		}),
		interval: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edge_agent_poll_interval_seconds",
			Help: "Configured time between polls of the config repo (before jitter; backoff while the repo is unreachable is at most max(interval, 1m)).",
		}),
	}
	m.interval.Set(interval.Seconds())
	if reg != nil {
		reg.MustRegister(m.polls, m.reconcile, m.sites, m.siteFailing, m.keyReads, m.rejected, m.applied, m.serving, m.persisted,
			m.lastPoll, m.interval)
	}
	return m
}

// pollFinished counts a poll by outcome; every outcome but PollError reached the repo.
func (m *agentMetrics) pollFinished(outcome PollOutcome) {
	m.polls.WithLabelValues(string(outcome)).Inc()
	if outcome != PollError {
		m.lastPoll.SetToCurrentTime()
	}
}
