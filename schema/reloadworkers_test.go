package schema_test

import (
	"os"
	"testing"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
)

// TestReloadWorkers: loads after the first that succeeded evaluate with ReloadWorkers;
// the first, and those after only failed ones, with Workers.
func TestReloadWorkers(t *testing.T) {
	dir := t.TempDir()
	if _, err := sitegen.WriteRepo(dir, 3, sitegen.Options{}); err != nil {
		t.Fatal(err)
	}
	l := schema.NewLoader(schema.LoaderOptions{Workers: 4, ReloadWorkers: 1})
	if got := schema.LoadWorkers(l); got != 4 {
		t.Fatalf("first load: %d workers; want 4", got)
	}
	if _, err := l.Load(os.DirFS(t.TempDir())); err == nil { // no sites/: invalid
		t.Fatal("an empty repo loaded")
	}
	if got := schema.LoadWorkers(l); got != 4 {
		t.Fatalf("after a failed load: %d workers; want 4", got)
	}
	for range 2 {
		if _, err := l.Load(os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		if got := schema.LoadWorkers(l); got != 1 {
			t.Fatalf("after a load: %d workers; want 1", got)
		}
	}
	if got := schema.LoadWorkers(schema.NewLoader(schema.LoaderOptions{Workers: 3})); got != 3 {
		t.Errorf("without ReloadWorkers: %d workers; want 3", got)
	}
}
