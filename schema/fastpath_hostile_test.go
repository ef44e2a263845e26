package schema

import (
	"strings"
	"sync"
	"testing"

	"cuelang.org/go/cue/scanner"
	"cuelang.org/go/cue/token"
)

// literalVariants replace a literal of a site file: wrong types, values the schema
// refuses, escapes, number forms CUE reads in its own way, huge and odd strings.
var literalVariants = []string{
	`""`, `"/"`, `"a b"`, `"../x"`, `"x/../y"`, `"/x"`, `"*.*.a"`, `"a:b"`, `"http://x"`, `"https://x/y"`, `"ftp://x"`,
	`"\u00e9"`, `"\"q\""`, `'bytes'`, `#"raw"#`, "\"\"\"\n\tmulti\n\t\"\"\"", `"a\(1)"`, `"µs"`, `"1µs"`, `"5x"`,
	`"1.5h"`, `"Ünï.example"`, `"` + strings.Repeat("a", 70000) + `"`, `"\t"`, `"least_conn"`, `"round_robin"`,
	`"X-A"`, `"bad header"`, `"secret"`, `"key"`, `"a/b"`,
	`0`, `1`, `-1`, `1.0`, `1e3`, `1E3`, `0x10`, `0o7`, `0b1`, `1_000`, `1K`, `1Ki`, `010`, `.5`, `2147483647`,
	`2147483648`, `99999999999999999999`, `308`, `301`, `302`, `303`, `307`, `599`, `600`, `1000`, `1001`, `10`, `11`,
	`true`, `false`, `null`, `_`, `string`, `[]`, `{}`, `["x"]`, `{url: "http://x"}`, `{url: "http://x", weight: 0}`,
	`{url: "http://x", weight: 2, extra: 1}`, `*"a" | "b"`, `"a" | "b"`, `"a" & "a"`, `1 + 1`,
}

// siteTokens returns the literal tokens of src, offsets and lengths.
func siteTokens(src []byte) [][2]int {
	var s scanner.Scanner
	s.Init(token.NewFile("f", 0, len(src)), src, nil, scanner.ScanComments)
	var out [][2]int
	for {
		p, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		switch tok {
		case token.STRING, token.INT, token.FLOAT, token.TRUE, token.FALSE, token.NULL:
			out = append(out, [2]int{p.Offset(), len(lit)})
		}
	}
}

// mutations returns variants of src: each literal replaced by each of literalVariants,
// each line dropped, each line written twice, and fields the fast path does not know
// added.
func mutations(src string) []string {
	var out []string
	for _, t := range siteTokens([]byte(src)) {
		for _, v := range literalVariants {
			out = append(out, src[:t[0]]+v+src[t[0]+t[1]:])
		}
	}
	lines := strings.Split(src, "\n")
	for i := range lines {
		drop := append(append([]string{}, lines[:i]...), lines[i+1:]...)
		twice := append(append(append([]string{}, lines[:i+1]...), lines[i]), lines[i+1:]...)
		out = append(out, strings.Join(drop, "\n"), strings.Join(twice, "\n"))
	}
	open := strings.Index(src, ": {\n") + 4
	for _, add := range []string{
		"\tunknown: 1\n", "\tpassthrough: upstreams: [\"a:1\"]\n", "\ttls: issuer: \"x\"\n", "\t\"hosts\": [\"dup.example\"]\n",
		"\t// only a comment\n", "\t#def: 1\n", "\t_hidden: 1\n", "\tcert?: \"c.pem\"\n", "\tdefault!: true\n",
		"\tmaintenance: true\n", "\t" + strings.Repeat("headers: {", 40) + strings.Repeat("}", 40) + "\n",
		"\trate_limit: requests: 5\n", "\troutes: \"/z\": {upstreams: [\"http://z\"], sticky: cookie: \"c\"}\n",
		"\theaders: set: {\"A\": \"1\", \"A\": \"1\"}\n", "\theaders: set: {a: \"1\", if: \"2\"}\n",
	} {
		out = append(out, src[:open]+add+src[open:])
	}
	return out
}

// hostileBases are the files mutated: every field the fast path knows, and the smallest
// site.
var hostileBases = []struct{ name, src string }{
	{"full-site", fastFull},
	{"c", "package edge\n\nsites: c: {\n\thosts: [\"c.example\"]\n\tcert: \"certs/c.pem\"\n\tkey: path: \"edge/c\"\n\troutes: \"/\": upstreams: [\"http://127.0.0.1:3001\"]\n}\n"},
}

// TestFastPathHostileMutations: on thousands of mutations of valid sites (wrong types,
// refused values, escapes, number forms, duplicate and unknown fields, dropped and doubled
// lines), the fast path declines or gives CUE's declaration, and takes some of them.
func TestFastPathHostileMutations(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates thousands of files")
	}
	ev, err := newEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	total, took, fails := 0, 0, 0
	for _, b := range hostileBases {
		for i, m := range mutations(b.src) {
			if total%500 == 499 { // CUE keeps memory in its context
				if ev, err = newEvaluator(); err != nil {
					t.Fatal(err)
				}
			}
			total++
			o := compareFast(ev, b.name, "sites/"+b.name+".cue", []byte(m))
			if o.took {
				took++
			}
			if o.diff != "" && fails < 5 {
				fails++
				t.Errorf("%s mutation %d: %s\n%s", b.name, i, o.diff, truncate(m, 2000))
			}
		}
	}
	t.Logf("fast path took %d of %d mutations", took, total)
	if took == 0 || took == total {
		t.Errorf("fast path took %d of %d mutations: the test does not tell accepted from declined", took, total)
	}
}

var fuzzEval struct {
	sync.Mutex
	ev *evaluator
	n  int
}

// FuzzFastEvalMatchesCUE: for any site file, the fast path declines or gives the
// declaration CUE gives (and CUE reports nothing). Seeded with the repo's site files and
// the hostile bases.
func FuzzFastEvalMatchesCUE(f *testing.F) {
	for _, s := range repoSiteSamples(f) {
		f.Add(s.name, s.src)
	}
	for _, b := range hostileBases {
		f.Add(b.name, []byte(b.src))
	}
	f.Fuzz(func(t *testing.T, name string, src []byte) {
		if !siteName.MatchString(name) {
			t.Skip()
		}
		fuzzEval.Lock()
		defer fuzzEval.Unlock()
		if fuzzEval.ev == nil || fuzzEval.n >= 500 {
			ev, err := newEvaluator()
			if err != nil {
				t.Fatal(err)
			}
			fuzzEval.ev, fuzzEval.n = ev, 0
		}
		fuzzEval.n++
		if o := compareFast(fuzzEval.ev, name, "sites/"+name+".cue", src); o.diff != "" {
			t.Fatal(o.diff)
		}
	})
}

// TestDataSchemaPatterns: every pattern of the data evaluator is written, as CUE quotes
// it, in the schema.
func TestDataSchemaPatterns(t *testing.T) {
	for _, re := range dataPatterns {
		q := `"` + strings.ReplaceAll(re.String(), `\`, `\\`) + `"`
		if !strings.Contains(string(SchemaCUE), q) {
			t.Errorf("pattern %s is not in the schema (as %s)", re, q)
		}
	}
}
