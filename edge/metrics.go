package edge

import (
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/proxy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metric names, all prefixed "edge_". Per-site series are bounded by the number of sites
// (10,000 sites give 10,000 expiry gauges and at most 50,000 request counters); status
// codes are counted without the site label, and series of removed sites are deleted when
// a snapshot without them is published.
const (
	metricRequests        = "edge_http_requests_total"
	metricResponses       = "edge_http_responses_total"
	metricDuration        = "edge_http_request_duration_seconds"
	metricUpstreamErrors  = "edge_upstream_errors_total"
	metricHandshakes      = "edge_tls_handshakes_total"
	metricHandshakeErrors = "edge_tls_handshake_errors_total"
	metricGeneration      = "edge_snapshot_generation"
	metricSites           = "edge_snapshot_sites"
	metricSwaps           = "edge_snapshot_swaps_total"
	metricCertExpiry      = "edge_certificate_expiry_seconds"
	metricConnections     = "edge_connections_open"
)

// noSite labels requests that matched no site (421, unknown host).
const noSite = "-"

// statusClasses are the values of the "class" label, indexed by status/100; the last,
// classClientClosed, counts requests whose client went away before the response was
// complete (status 499, or a response cut short), so they never inflate 4xx or 5xx.
var statusClasses = [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx", "client_closed"}

// classClientClosed is the index of "client_closed" in statusClasses.
const classClientClosed = 6

// metrics holds the server's collectors.
type metrics struct {
	requests        *prometheus.CounterVec // site, class
	responses       *prometheus.CounterVec // code
	duration        *prometheus.HistogramVec
	upstreamErrors  *prometheus.CounterVec // site
	handshakes      prometheus.Counter
	handshakeErrors *prometheus.CounterVec // reason
	generation      prometheus.Gauge
	sites           prometheus.Gauge
	swaps           prometheus.Counter
	connections     *prometheus.GaugeVec // listener
	pt              *ptMetrics
	compress        *compressMetrics
	access          *accessMetrics

	codes    sync.Map                       // int -> prometheus.Counter
	byProto  map[string]prometheus.Observer // protoLabel -> duration series, resolved once
	siteReqs sync.Map                       // site name -> *siteCounters
}

// siteCounters are a site's request counters by status class: the series, resolved on
// first use so only classes that occur get one, and the same counts as plain numbers for
// Server.SiteTraffic to read cheaply.
type siteCounters struct {
	series [len(statusClasses)]atomic.Pointer[prometheus.Counter]
	n      [len(statusClasses)]atomic.Uint64
}

// newMetrics creates the collectors and registers them, with the certificate expiry
// collector reading the current snapshot through current.
func newMetrics(reg prometheus.Registerer, current func() *Snapshot) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricRequests, Help: "HTTPS requests by site and status class: 1xx to 5xx, or client_closed when the client left before the response was complete (site \"-\": no site matched).",
		}, []string{"site", "class"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricResponses, Help: "Responses by status code, all sites and listeners together.",
		}, []string{"code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: metricDuration, Help: "Time to serve a request, all sites together.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"proto"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricUpstreamErrors, Help: "Requests that failed because of an upstream (502, 503, 504, or a response aborted mid-body by the upstream), by site; never a client's fault.",
		}, []string{"site"}),
		handshakes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: metricHandshakes, Help: "TLS handshakes completed.",
		}),
		handshakeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricHandshakeErrors, Help: "TLS handshakes failed, by reason (unknown_sni, no_sni, timeout, eof, protocol_version, no_shared_cipher, remote_alert, not_tls, other).",
		}, []string{"reason"}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: metricGeneration, Help: "Generation of the snapshot being served (0: none yet).",
		}),
		sites: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: metricSites, Help: "Sites in the snapshot being served.",
		}),
		swaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: metricSwaps, Help: "Snapshots swapped in.",
		}),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: metricConnections, Help: "Open client connections by listener (https, http).",
		}, []string{"listener"}),
	}
	reg.MustRegister(m.requests, m.responses, m.duration, m.upstreamErrors, m.handshakes,
		m.handshakeErrors, m.generation, m.sites, m.swaps, m.connections, &expiryCollector{current: current})
	m.pt = newPTMetrics(reg)
	m.compress = newCompressMetrics()
	reg.MustRegister(m.compress)
	m.access = newAccessMetrics(reg)
	for _, reason := range []string{"unknown_sni", "no_sni"} {
		m.handshakeErrors.WithLabelValues(reason) // export zeros for the reasons alerts watch
	}
	m.byProto = make(map[string]prometheus.Observer, len(protoLabels))
	for _, p := range protoLabels {
		m.byProto[p] = m.duration.WithLabelValues(p)
	}
	return m
}

// gcRuntimeMetrics are the runtime/metrics the Go collector exports beyond its defaults:
// what the GC scans and what it costs, so the GC's share of the CPU per request and its cause
// (the pointerful live heap it marks each cycle, which grows with the number of sites) can be
// read from a running agent: go_gc_scan_heap_bytes, go_gc_scan_stack_bytes,
// go_gc_scan_globals_bytes, go_gc_heap_live_bytes and go_cpu_classes_gc_total_cpu_seconds_total.
var gcRuntimeMetrics = regexp.MustCompile(`^/gc/scan/.*:bytes$|^/gc/heap/live:bytes$|^/cpu/classes/gc/total:cpu-seconds$`)

// newRegistry returns a registry with the Go runtime (and gcRuntimeMetrics) and process
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	goc := collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: gcRuntimeMetrics}))
	reg.MustRegister(goc, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// request counts one response of site (noSite if none); closed means the client left
// before it was complete.
func (m *metrics) request(site string, code int, closed bool, proto string, d time.Duration) {
	class := code / 100
	if class < 1 || class > 5 {
		class = 5
	}
	if closed || code == proxy.StatusClientClosed {
		class = classClientClosed
	}
	var counters *siteCounters
	if v, ok := m.siteReqs.Load(site); ok {
		counters = v.(*siteCounters)
	} else {
		counters = new(siteCounters)
		if v, loaded := m.siteReqs.LoadOrStore(site, counters); loaded {
			counters = v.(*siteCounters)
		}
	}
	c := counters.series[class].Load()
	if c == nil {
		// Racing goroutines resolve the same series; either pointer will do.
		v := m.requests.WithLabelValues(site, statusClasses[class])
		c = &v
		counters.series[class].Store(c)
	}
	(*c).Inc()
	counters.n[class].Add(1)
	m.code(code).Inc()
	m.byProto[proto].Observe(d.Seconds())
}

// code returns the response counter of a status code.
func (m *metrics) code(code int) prometheus.Counter {
	if v, ok := m.codes.Load(code); ok {
		return v.(prometheus.Counter)
	}
	c := m.responses.WithLabelValues(strconv.Itoa(code))
	m.codes.Store(code, c)
	return c
}

// forgetSitesExcept deletes the series of every site keep refuses.
func (m *metrics) forgetSitesExcept(keep func(site string) bool) {
	m.siteReqs.Range(func(k, _ any) bool {
		if site := k.(string); site != noSite && !keep(site) {
			m.siteReqs.Delete(site)
			for _, class := range statusClasses[1:] {
				m.requests.DeleteLabelValues(site, class)
			}
			m.upstreamErrors.DeleteLabelValues(site)
			m.access.denials().forget(site)
		}
		return true
	})
	m.compress.forgetExcept(keep)
}

// expiryCollector exports the seconds to certificate expiry of every site of the current
// snapshot at scrape time, so removed sites disappear with their snapshot.
type expiryCollector struct {
	current func() *Snapshot
}

var expiryDesc = prometheus.NewDesc(metricCertExpiry,
	"Seconds until the earliest certificate of the site expires (negative: expired).", []string{"site"}, nil)

// Describe implements prometheus.Collector.
func (c *expiryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- expiryDesc }

// Collect implements prometheus.Collector.
func (c *expiryCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.current()
	if snap == nil {
		return
	}
	now := time.Now()
	for _, e := range snap.sites {
		if e.notAfter.IsZero() {
			continue // a passthrough site holds no certificate
		}
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, e.notAfter.Sub(now).Seconds(), e.site.Name)
	}
}
