package edge

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/edgectl/edge/edge/site"
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names of compression (see metrics.go for the others).
const (
	metricCompressIn  = "edge_compression_input_bytes_total"
	metricCompressOut = "edge_compression_output_bytes_total"
)

// compressStats are one site's compression counters: the bytes of the bodies compressed
// and the bytes they became.
type compressStats struct {
	in, out atomic.Uint64
}

func (s *compressStats) add(in, out int64) {
	s.in.Add(uint64(in))
	s.out.Add(uint64(out))
}

// compressMetrics holds the sites' compression counters and exports them, by site, as two
// Prometheus counters. Sites are added on first compressed route, removed with forget.
type compressMetrics struct {
	sites sync.Map // site name -> *compressStats
	in    *prometheus.Desc
	out   *prometheus.Desc
}

func newCompressMetrics() *compressMetrics {
	return &compressMetrics{
		in:  prometheus.NewDesc(metricCompressIn, "Bytes of response bodies the edge compressed, by site.", []string{"site"}, nil),
		out: prometheus.NewDesc(metricCompressOut, "Bytes those bodies became once compressed, by site.", []string{"site"}, nil),
	}
}

// site returns the counters of the named site, creating them. A nil m returns nil.
func (m *compressMetrics) site(name string) *compressStats {
	if m == nil {
		return nil
	}
	v, _ := m.sites.LoadOrStore(name, new(compressStats))
	return v.(*compressStats)
}

// routeSite returns the counters of the named site for route r: nil when r does not
// compress (a site's counters exist once one of its routes compresses, so 10,000 sites
// that never compress hold no counters and export no series).
func (m *compressMetrics) routeSite(name string, r *site.Route) *compressStats {
	if r.Compress == nil {
		return nil
	}
	return m.site(name)
}

// forgetExcept deletes the counters of every site keep refuses.
func (m *compressMetrics) forgetExcept(keep func(site string) bool) {
	m.sites.Range(func(k, _ any) bool {
		if !keep(k.(string)) {
			m.sites.Delete(k)
		}
		return true
	})
}

// Describe implements prometheus.Collector.
func (m *compressMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.in
	ch <- m.out
}

// Collect implements prometheus.Collector.
func (m *compressMetrics) Collect(ch chan<- prometheus.Metric) {
	m.sites.Range(func(k, v any) bool {
		s := v.(*compressStats)
		ch <- prometheus.MustNewConstMetric(m.in, prometheus.CounterValue, float64(s.in.Load()), k.(string))
		ch <- prometheus.MustNewConstMetric(m.out, prometheus.CounterValue, float64(s.out.Load()), k.(string))
		return true
	})
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
