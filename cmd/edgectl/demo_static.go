package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// demoStaticDir is the directory of the demo's config repo that acme serves at /docs: a
// static route, the files committed with the configuration.
const demoStaticDir = "www/docs"

// demoStaticPage is the page the static route serves.
const demoStaticPage = `<!doctype html>
<meta charset="utf-8">
<title>acme docs</title>
<h1>acme docs</h1>
<p>Served by the edge itself from www/docs of the config repo (a static route): edit this
file, commit, and the new page is served, with the configuration of the same commit.</p>
`

// writeDemoStatic writes the static route's files into the demo repo.
func writeDemoStatic(repoDir string) error {
	dir := filepath.Join(repoDir, filepath.FromSlash(demoStaticDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo static files: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(demoStaticPage), 0o644); err != nil {
		return fmt.Errorf("demo static files: %w", err)
	}
	return nil
}

// printDemoStatic prints the commands that show the static route: a page, then the same
// page again with its ETag, answered 304 Not Modified.
func printDemoStatic(out io.Writer, addr, caFile string) {
	p := demoPort(addr)
	fmt.Fprintf(out, "\n  # files served by the edge from %s of the config repo (a static route); then 304 by ETag\n", demoStaticDir)
	fmt.Fprintf(out, "  %s https://%s:%s/docs/\n", demoCurl(caFile, demoAcmeHost, addr), demoAcmeHost, p)
	fmt.Fprintf(out, "  %s -o /dev/null -w '%%{http_code}\\n' -H \"If-None-Match: $(%s -o /dev/null -w '%%header{etag}' https://%s:%s/docs/)\" https://%s:%s/docs/\n",
		demoCurl(caFile, demoAcmeHost, addr), demoCurl(caFile, demoAcmeHost, addr), demoAcmeHost, p, demoAcmeHost, p)
}
