package testenv

import (
	"testing"
)

// H2specVersion is the h2spec (HTTP/2 conformance suite) release tests/h2spec builds; keep
// it equal to the version in tests/h2spec/go.mod. It is the newest the module proxy
// resolves: `go list -m -versions` lists only v1.5.0 and v2.2.1+incompatible (later v2
// tags come with a go.mod declaring the module without /v2, so they are not valid module
// versions), and pseudo-versions of later commits are refused. v2.2.1 runs 145 cases.
const H2specVersion = "v2.2.1+incompatible"

var h2specTool = cachedTool{what: "h2spec", name: "h2spec-" + H2specVersion, module: "h2spec", pkg: "github.com/summerwind/h2spec/cmd/h2spec"}

// H2specBinary returns the path of a real h2spec binary built from the nested module
// tests/h2spec (its go.mod pins h2spec and every dependency; nothing third-party is
// committed), building it on first use into the same cache directory as VaultBinary
// (VaultCacheDir), as h2spec-<H2specVersion>, under the same file lock discipline. The
// first build takes about half a minute. When the build is impossible the test fails if
// CI=true and is skipped otherwise.
func H2specBinary(t testing.TB) string {
	t.Helper()
	return h2specTool.get(t)
}
