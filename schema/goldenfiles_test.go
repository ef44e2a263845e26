package schema

import (
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// goldenFiles returns the files of the golden case testdata/<name>.txtar (see golden_test.go)
// whose names start with prefix, in the archive's order.
func goldenFiles(t testing.TB, name, prefix string) []txtar.File {
	t.Helper()
	ar, err := txtar.ParseFile("testdata/" + name + ".txtar")
	if err != nil {
		t.Fatal(err)
	}
	var fs []txtar.File
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, prefix) {
			fs = append(fs, f)
		}
	}
	return fs
}
