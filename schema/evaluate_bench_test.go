package schema

import (
	"fmt"
	"testing"
)

// BenchmarkEvalSiteFile evaluates plain site files (the shape tests/bench generates: hosts,
// default, cert, key, one route to one upstream) one after the other on one evaluator, as
// an evaluation worker does, recycling it every evalRecycleFiles files. ns/op is the CUE
// cost of one file: parse, subset check, schema unification, extraction. At 10,000 sites
// it is most of a cold start's CPU (the rest: certificates, keys, the clone).
func BenchmarkEvalSiteFile(b *testing.B) {
	const n = 1000
	srcs := benchSiteFiles(n)
	var ev *evaluator
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%evalRecycleFiles == 0 {
			e, err := newEvaluator()
			if err != nil {
				b.Fatal(err)
			}
			ev = e
		}
		k := i % n
		name := fmt.Sprintf("site%05d", k)
		d, ds := ev.evalSite(name, "sites/"+name+".cue", srcs[k])
		if ds != nil || d == nil || len(d.Routes) != 1 {
			b.Fatalf("%s: %v (declaration %v)", name, ds, d)
		}
		i++
	}
}

// BenchmarkEvalSiteFileFast is BenchmarkEvalSiteFile through the data fast path, which
// takes each of these files: parse, shape and subset checks, the data evaluator and
// extraction, without CUE's evaluation.
func BenchmarkEvalSiteFileFast(b *testing.B) {
	const n = 1000
	srcs := benchSiteFiles(n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % n
		name := fmt.Sprintf("site%05d", k)
		d, ok := dataFastPath{}.evalSite(name, "sites/"+name+".cue", srcs[k])
		if !ok || len(d.Routes) != 1 {
			b.Fatalf("%s: declined (declaration %v)", name, d)
		}
		i++
	}
}

// benchSiteFiles returns n plain site files of the benchmarks' shape, site00000 the default
// site.
func benchSiteFiles(n int) [][]byte {
	srcs := make([][]byte, n)
	for i := range srcs {
		srcs[i] = fmt.Appendf(nil, `package edge

sites: site%05[1]d: {
	hosts: ["site%05[1]d.bench.test", "*.site%05[1]d.bench.test"]
	default: %[2]v
	cert: "certs/site%05[1]d.pem"
	key: path: "edge/site%05[1]d"
	routes: "/": upstreams: ["http://127.0.0.1:3001"]
}
`, i, i == 0)
	}
	return srcs
}
