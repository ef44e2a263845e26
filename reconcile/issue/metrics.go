package issue

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	attempts, failures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, st *Store) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_issue_attempts_total",
			Help: "Certificate orders this agent placed, by issuer."}, []string{"issuer"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_issue_failures_total",
			Help: "Certificate orders this agent placed that failed, by issuer."}, []string{"issuer"}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.failures, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_issue_vault_reads_total",
			Help: "Vault reads made for issued certificates, locks, challenges and ACME accounts."},
			func() float64 { return float64(st.Reads()) }))
	}
	return m
}
