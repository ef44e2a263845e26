package schema

import (
	"encoding/json"
	"testing"
)

// benchSiteSrc is a plain site file, as tests/bench/gen writes 10,000 of.
const benchSiteSrc = `package edge

sites: site00001: {
	hosts: ["site00001.bench.test", "*.site00001.bench.test"]
	cert: "certs/site00001.pem"
	key: path: "edge/site00001"
	routes: "/": upstreams: ["http://127.0.0.1:9"]
}
`

// BenchmarkEvalCacheDecode: decoding one plain site's evaluation cache record, as a warm
// start does for every site; record-bytes is the record's payload.
func BenchmarkEvalCacheDecode(b *testing.B) {
	d, ok := dataFastPath{}.evalSite("site00001", "sites/site00001.cue", []byte(benchSiteSrc))
	if !ok {
		b.Fatal("the fast path declined the site")
	}
	p, err := json.Marshal(cachedSite{Decl: d})
	if err != nil {
		b.Fatal(err)
	}
	c := &diskCache{entries: map[[32]byte][]byte{{}: p}}
	b.ReportAllocs()
	for b.Loop() {
		if c.lookup([32]byte{}, [32]byte{}) == nil {
			b.Fatal("no result")
		}
	}
	b.ReportMetric(float64(len(p)), "record-bytes")
}
