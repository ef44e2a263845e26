package keysource_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/tests/testenv"
)

// BenchmarkVaultKeysFetch1000 fetches 1,000 distinct keys from a real Vault dev server at
// concurrency 8 (the agent's default) per iteration; ms/1000keys is the figure to watch.
func BenchmarkVaultKeysFetch1000(b *testing.B) {
	const n = 1000
	v := testenv.StartVault(b)
	key := string(ktKeyPEM(b))
	refs := make([]schema.KeyRef, n)
	for i := range refs {
		refs[i] = schema.KeyRef{Mount: "secret", Path: fmt.Sprintf("edge/site%04d.example", i), Field: "key"}
		v.PutKV(b, "secret", refs[i].Path, map[string]any{"key": key})
	}
	vk := ktNewVaultKeys(b, keysource.VaultConfig{Address: v.Addr, Token: v.Token, Concurrency: 8})
	ctx := context.Background()

	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		work := make(chan schema.KeyRef)
		var wg sync.WaitGroup
		var once sync.Once
		var firstErr error
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range work {
					if _, err := vk.Fetch(ctx, r); err != nil {
						once.Do(func() { firstErr = err })
					}
				}
			}()
		}
		for _, r := range refs {
			work <- r
		}
		close(work)
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/1000keys")
	b.ReportMetric(float64(n)/per.Seconds(), "keys/s")
}
