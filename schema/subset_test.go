package schema

import (
	"fmt"
	"strings"
	"testing"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
)

// TestSubsetAcceptsData: everything a declaration writes as data passes the subset walk.
func TestSubsetAcceptsData(t *testing.T) {
	src := `// a comment
package edge

// every kind of plain value
sites: "old-acme": {
	hosts: ["a.example", "*.a.example"] // trailing comment
	default: true
	key: {mount: "kv", path: "edge/a", field: "key", version: 3}
	key: path: "edge/a"
	routes: "/": upstreams: ["http://127.0.0.1:3001"]
	routes: "/api": {retries: 0, strip_prefix: false}
	x: null
	n: -1
	f: -1.5e3
	h: 0x1F
	k: 1Ki
	u: 1_000
	l: [[1, 2], [], {}, [{a: "b"}]]
	m: """
		multi
		line
		"""
	r: #"raw \(not interpolated)"#
	e: "escapes \t \u00fc \\ \""
	b: 'bytes'
	if: 1
	for: 2
	let: 3
}
`
	f, err := parser.ParseFile("sites/old-acme.cue", src)
	if err != nil {
		t.Fatal(err)
	}
	if ds := checkSubset("sites/old-acme.cue", f); ds != nil {
		t.Errorf("data refused:\n%v", Diagnostics(ds))
	}
}

// TestSubsetRefuses: each construct outside the subset is refused at its exact position,
// with a message naming it.
func TestSubsetRefuses(t *testing.T) {
	tests := []struct {
		name, value string // value is the text after "v: " on line 4
		col         int    // column of the offending node, counted from "v" (col 2) on
		want        string
	}{
		{"reference", "x", 5, "the reference `x`"},
		{"hidden reference", "_s", 5, "the reference `_s`"},
		{"definition reference", "#D", 5, "the reference `#D`"},
		{"selector", "a.b", 5, "the reference `a.b`"},
		{"index", `a[0]`, 5, "the reference `a[…]`"},
		{"type", "string", 5, "the type `string` is not a value"},
		{"top", "_", 5, "`_` (any value)"},
		{"bottom", "_|_", 5, "`_|_`"},
		{"plus", `"a" + "b"`, 9, "the operator `+`"},
		{"minus", "3 - 1", 7, "the operator `-`"},
		{"times", `"a" * 3`, 9, "the operator `*`"},
		{"divide", "4 / 2", 7, "the operator `/`"},
		{"unify", "{a: 1} & {b: 2}", 12, "unification `&`"},
		{"unify chain leftmost", "{a: 1} & {b: 2} & {c: 3}", 12, "unification `&`"},
		{"disjunction", `"a" | "b"`, 9, "a disjunction `|`"},
		{"default", `*"a" | "b"`, 5, "a default `*` in a disjunction"},
		{"default last", `"a" | "b" | *"c"`, 17, "a default `*` in a disjunction"},
		{"default alone", `[*"a"]`, 6, "a default `*`"},
		{"equal", "1 == 1", 7, "the operator `==`"},
		{"match", `"a" =~ "a"`, 9, "the operator `=~`"},
		{"and", "true && false", 10, "the operator `&&`"},
		{"bound", ">=1", 5, "the constraint `>=`"},
		{"not", "!true", 5, "the constraint `!`"},
		{"unary plus", "+1", 5, "the constraint `+`"},
		{"minus reference", "-x", 5, "`-` is allowed only before a number"},
		{"interpolation", `"\(1)"`, 5, "string interpolation"},
		{"interpolation in list", `["a", "b\(1)"]`, 11, "string interpolation"},
		{"multi-line interpolation", "\"\"\"\n\t\t\\(1)\n\t\t\"\"\"", 5, "string interpolation"},
		{"list comprehension", `[if true {1}]`, 6, "a comprehension"},
		{"struct comprehension", `{if true {a: 1}}`, 6, "a comprehension"},
		{"embedding", `{"a"}`, 6, "an embedded value"},
		{"embedded reference", `{x, a: 1}`, 6, "an embedded value"},
		{"pattern", `{[string]: 1}`, 6, "a pattern constraint"},
		{"ellipsis in struct", `{a: 1, ...}`, 12, "`...`"},
		{"ellipsis in list", `[1, ...]`, 9, "`...`"},
		{"optional", `{a?: 1}`, 6, "the marker `?`"},
		{"required", `{a!: 1}`, 6, "the marker `!`"},
		{"let", `{let x = 1, a: 2}`, 6, "`let`"},
		{"alias label", `{X=a: 1}`, 6, "an alias"},
		{"hidden field", `{_a: 1}`, 6, "the hidden field `_a`"},
		{"definition field", `{#A: 1}`, 6, "the definition `#A`"},
		{"computed label", `{(x): 1}`, 6, "a computed field name"},
		{"interpolated label", `{"\(x)": 1}`, 6, "a field name with interpolation"},
		{"field attribute", `1 @tag(x)`, 7, "the attribute `@tag(x)`"},
		{"struct attribute", `{@embed(file=x.json)}`, 6, "files cannot be embedded"},
		{"parentheses", `(1)`, 5, "parentheses"},
		{"call", `len("a")`, 5, "a function call"},
		{"huge number", strings.Repeat("9", 65), 5, "a number of 65 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package edge\n\nsites: a: {\n\tv: " + tt.value + "\n}\n"
			f, err := parser.ParseFile("sites/a.cue", src)
			if err != nil {
				t.Fatalf("does not parse: %v\n%s", err, src)
			}
			ds := checkSubset("sites/a.cue", f)
			if len(ds) == 0 {
				t.Fatalf("accepted:\n%s", src)
			}
			d := ds[0]
			if d.Line != 4 || d.Col != tt.col || !strings.Contains(d.Message, tt.want) || !strings.Contains(d.Message, dataHint) {
				t.Errorf("got %v; want sites/a.cue:4:%d: ... %s ...", d, tt.col, tt.want)
			}
		})
	}
}

// TestSubsetFileLevel: attributes, imports and top-level constructs are refused with their
// positions, and the number of diagnostics per file is bounded.
func TestSubsetFileLevel(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"@extern(embed)\n\npackage edge\n", "edge.cue:1:1: error: the attribute `@extern(embed)` is not allowed"},
		{"package edge\n\nimport \"strings\"\n", "edge.cue:3:1: error: an import is not allowed"},
		{"package edge\n\n_x: 1\n", "edge.cue:3:1: error: the hidden field `_x`"},
		{"package edge\n\nlet x = 1\n", "edge.cue:3:1: error: `let` is not allowed"},
		{"package edge\n\n{}\n", "edge.cue:3:1: error: an embedded value"},
	}
	for _, tt := range tests {
		f, err := parser.ParseFile("edge.cue", tt.src)
		if err != nil {
			t.Fatalf("%q does not parse: %v", tt.src, err)
		}
		ds := checkSubset("edge.cue", f)
		if len(ds) != 1 || !strings.HasPrefix(ds[0].String(), tt.want) {
			t.Errorf("%q: got %v; want one diagnostic %s ...", tt.src, ds, tt.want)
		}
	}

	// The postfix alias needs an experiment, declared by an attribute: both are refused.
	f, err := parser.ParseFile("edge.cue", "@experiment(aliasv2)\npackage edge\n\npolicy: {a~X: 1}\n")
	if err != nil {
		t.Fatal(err)
	}
	if ds := checkSubset("edge.cue", f); len(ds) != 2 || !strings.Contains(ds[0].Message, "attribute `@experiment(aliasv2)`") ||
		ds[1].Line != 4 || ds[1].Col != 11 || !strings.Contains(ds[1].Message, "an alias (`~X`)") {
		t.Errorf("postfix alias: got %v", ds)
	}

	var b strings.Builder
	b.WriteString("package edge\n\ndefaults: {\n")
	for i := range 30 {
		fmt.Fprintf(&b, "\t_s%d: 1\n", i)
	}
	b.WriteString("}\n")
	f, err = parser.ParseFile("edge.cue", b.String())
	if err != nil {
		t.Fatal(err)
	}
	ds := checkSubset("edge.cue", f)
	if len(ds) != maxSubsetDiagnostics+1 {
		t.Fatalf("got %d diagnostics; want %d", len(ds), maxSubsetDiagnostics+1)
	}
	if last := ds[len(ds)-1].String(); last != `edge.cue:14:2: error: and 20 more constructs outside the data subset of CUE (see schema/README.md, "What a file may contain")` {
		t.Errorf("last diagnostic: %s", last)
	}
}

// TestSubsetValueCount: a file of plain data is refused past maxValues fields and list
// elements, at the first value over the limit.
func TestSubsetValueCount(t *testing.T) {
	for _, n := range []int{maxValues - 2, maxValues - 1} { // plus `policy` and the list's field
		src := "package edge\n\npolicy: allowed_upstreams: [" + strings.Repeat("1,", n) + "]\n"
		f, err := parser.ParseFile("edge.cue", src)
		if err != nil {
			t.Fatal(err)
		}
		ds := checkSubset("edge.cue", f)
		want := 0
		if n+2 > maxValues {
			want = 1
		}
		if len(ds) != want {
			t.Fatalf("%d values: %d diagnostics %v; want %d", n+2, len(ds), ds, want)
		}
		if want == 1 && (ds[0].Line != 3 || ds[0].Col != 29+2*(n-1) || !strings.Contains(ds[0].Message, "more than 10000 values")) {
			t.Errorf("got %v", ds[0])
		}
	}
}

// BenchmarkSubsetWalk measures checkSubset on the 10,000 site files of a generated repo (the
// shape schema/sitegen writes), parsed beforehand: the cost the subset adds to a cold load.
func BenchmarkSubsetWalk(b *testing.B) {
	const n = 10000
	files := make([]*ast.File, n)
	for i := range files {
		name := fmt.Sprintf("site%05d", i)
		src := fmt.Sprintf("package edge\n\nsites: %s: {\n\thosts: [%q, %q]\n\tcert: %q\n\tkey: path: %q\n\troutes: \"/\": upstreams: [\"http://127.0.0.1:3001\"]\n}\n",
			name, name+".example.test", "*."+name+".example.test", "certs/"+name+".pem", "edge/"+name)
		f, err := parser.ParseFile("sites/"+name+".cue", src)
		if err != nil {
			b.Fatal(err)
		}
		files[i] = f
	}
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			if ds := checkSubset(f.Filename, f); ds != nil {
				b.Fatal(ds)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/site")
}
