package schema_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
)

// gcHeap returns, after a full GC, the heap the collector scans and the live heap, in bytes.
func gcHeap() (scan, live uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// BenchmarkLoaderKeptHeap10k loads a 10,000-site git revision, then a few revisions that
// each change one site (incremental loads), and reports the heap the Loader keeps between
// loads (beyond the Config it returned): scanned by the collector (MB-scan-kept) and live
// (MB-live-kept), and the whole heap scanned with the Loader, the Config and the last
// revision alive (MB-scan-all).
func BenchmarkLoaderKeptHeap10k(b *testing.B) {
	dir, git := benchGitRepo(b)
	const swaps = 4
	for i := range swaps {
		f, err := os.OpenFile(filepath.Join(dir, "sites", sitegen.SiteName(40+i)+".cue"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		f.WriteString("// changed\n")
		f.Close()
		git("commit", "-qam", "change")
	}
	ctx := context.Background()
	var scanKept, liveKept, scanAll float64
	for b.Loop() {
		b.StopTimer()
		var revs []*gitsource.Revision
		for i := swaps; i >= 0; i-- {
			rev, err := gitsource.ReadRevision(ctx, dir, fmt.Sprint("HEAD~", i), "")
			if err != nil {
				b.Fatal(err)
			}
			revs = append(revs, rev)
		}
		b.StartTimer()
		l := schema.NewLoader(schema.LoaderOptions{})
		var cfg *schema.Config
		for _, rev := range revs {
			var err error
			if cfg, err = l.Load(rev.FS); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		last := revs[len(revs)-1]
		revs = nil
		sAll, lAll := gcHeap()
		runtime.KeepAlive(l)
		l = nil
		sCfg, lCfg := gcHeap()
		runtime.KeepAlive(cfg)
		runtime.KeepAlive(last)
		scanKept, liveKept, scanAll = float64(sAll-sCfg)/1e6, float64(lAll-lCfg)/1e6, float64(sAll)/1e6
		b.StartTimer()
	}
	b.ReportMetric(scanKept, "MB-scan-kept")
	b.ReportMetric(liveKept, "MB-live-kept")
	b.ReportMetric(scanAll, "MB-scan-all")
}
