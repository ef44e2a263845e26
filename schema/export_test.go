package schema

import "testing"

// Exported for the external tests.
var (
	ErrLoadCancelled = errLoadCancelled
	CompareIsolated  = compareIsolated
	TestNow          = testNow
)

// SetIsolationHooks sets the hooks called when a worker starts and after each of its
// answers, until the test ends.
func SetIsolationHooks(t *testing.T, spawned, answered func(pid int)) {
	testHookSpawned, testHookAnswered = spawned, answered
	t.Cleanup(func() { testHookSpawned, testHookAnswered = nil, nil })
}

// CachedSites is how many site results l caches.
func CachedSites(l *Loader) int { return len(l.sites) }

// SetEvaluatingHook sets the hook called with each site file a load evaluates, until the
// test ends. The hook may be called from several goroutines at once.
func SetEvaluatingHook(t *testing.T, h func(file string)) {
	testHookEvaluating = h
	t.Cleanup(func() { testHookEvaluating = nil })
}

// SetSigCheckedHook sets the hook called for each chain signature a cached load checks,
// until the test ends.
func SetSigCheckedHook(t *testing.T, h func()) {
	testHookSigChecked = h
	t.Cleanup(func() { testHookSigChecked = nil })
}

// LoadWorkers is how many files l's next load evaluates in parallel.
func LoadWorkers(l *Loader) int { return l.workers() }

// FastPathCompare evaluates a site file with the data fast path and with CUE: took says
// whether the fast path gave a declaration, diff how it differs from CUE's (empty: not).
func FastPathCompare(t testing.TB, name, file string, src []byte) (took bool, diff string) {
	t.Helper()
	ev, err := newEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	o := compareFast(ev, name, file, src)
	return o.took, o.diff
}

// DisableFastPath makes the loaders made until the test ends evaluate every site file with
// CUE (in workers with isolation), as before the data fast path.
func DisableFastPath(t *testing.T) {
	newFastPath = func() siteFastPath { return nil }
	t.Cleanup(func() { newFastPath = func() siteFastPath { return dataFastPath{} } })
}
