package schema

import (
	"regexp"
	"slices"
)

// The part of #Site (cue/edge.cue) the data evaluator knows, written again in Go. A field
// that is not here makes the evaluator decline the file, so this may know less than the
// schema, never more or otherwise: each constraint is the schema's (the patterns are the
// schema's own text, which TestDataSchemaPatterns checks), each default its default.

// dataSpec is the constraint on one value.
type dataSpec struct {
	kind dataKind
	// strings: each of match must match, none of notMatch; when enum is set, the value
	// must be one of it.
	match, notMatch []*regexp.Regexp
	enum            []string
	// integers: the range, and when ints is set, the value must be one of them.
	lo, hi int64
	ints   []int64
	// lists: the elements and how many at least.
	elem     *dataSpec
	minElems int
	// structs: the fields the definition declares, and for the other fields a pattern
	// their name must match (nil: the struct is closed to them) and their value's spec.
	fields   map[string]dataFieldSpec
	keyMatch *regexp.Regexp
	keyValue *dataSpec
	// others are the optional fields the definition declares that the data evaluator
	// does not know (a file setting one is declined). CUE iterates over such a field, when
	// unset, as over an empty struct (val.Fields).
	others []string
	// alt is the spec of a value of another kind (`bool | #HSTS`): the kind of the value
	// written picks one.
	alt *dataSpec
}

// dataFieldSpec is a field a struct definition declares.
type dataFieldSpec struct {
	spec     *dataSpec
	required bool      // `name!:`, or made required by the schema's `if` (see dataSite)
	dflt     *dataNode // the default (`*x | ...`), set when the file does not set it
}

var (
	reHost       = regexp.MustCompile(`^(\*\.)?[^*\s/:@]+$`)
	reNoSlash    = regexp.MustCompile(`^[^/]`)
	reDotDot     = regexp.MustCompile(`(^|/)\.\.(/|$)`)
	rePathPrefix = regexp.MustCompile(`^/`)
	reDuration   = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+$`)
	reHTTPURL    = regexp.MustCompile(`^https?://`)
	reKeyField   = regexp.MustCompile(`^[^/]+$`)
	reToken      = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
)

// dataPatterns are the patterns above, for the test that finds each in the schema's text.
var dataPatterns = []*regexp.Regexp{reHost, reNoSlash, reDotDot, rePathPrefix, reDuration, reHTTPURL, reKeyField, reToken}

func strSpec(match ...*regexp.Regexp) *dataSpec { return &dataSpec{kind: dataString, match: match} }

func enumSpec(vals ...string) *dataSpec { return &dataSpec{kind: dataString, enum: vals} }

func intSpec(lo, hi int64) *dataSpec { return &dataSpec{kind: dataInt, lo: lo, hi: hi} }

func listSpec(elem *dataSpec, min int) *dataSpec {
	return &dataSpec{kind: dataList, elem: elem, minElems: min}
}

func structSpec(fields map[string]dataFieldSpec) *dataSpec {
	return &dataSpec{kind: dataStruct, fields: fields}
}

// withOthers sets the fields s's definition declares that the data evaluator does not know.
func withOthers(s *dataSpec, others ...string) *dataSpec {
	s.others = others
	return s
}

// declares reports whether the definition of struct s declares the field name.
func (s *dataSpec) declares(name string) bool {
	_, ok := s.fields[name]
	return ok || slices.Contains(s.others, name)
}

var boolSpec = &dataSpec{kind: dataBool}

func opt(s *dataSpec) dataFieldSpec { return dataFieldSpec{spec: s} }

func req(s *dataSpec) dataFieldSpec { return dataFieldSpec{spec: s, required: true} }

func dflt(s *dataSpec, d *dataNode) dataFieldSpec { return dataFieldSpec{spec: s, dflt: d} }

func strNode(s string) *dataNode { return &dataNode{kind: dataString, s: s} }

func boolNode(b bool) *dataNode { return &dataNode{kind: dataBool, b: b} }

func intNode(i int64) *dataNode { return &dataNode{kind: dataInt, i: i} }

// Specs of the schema's definitions (the names are the schema's).
var (
	dsHost     = strSpec(reHost)
	dsRepoPath = &dataSpec{kind: dataString, match: []*regexp.Regexp{reNoSlash}, notMatch: []*regexp.Regexp{reDotDot}}
	dsPrefix   = strSpec(rePathPrefix)
	dsDuration = strSpec(reDuration)
	dsUpstream = strSpec(reHTTPURL)
	dsBalance  = enumSpec("round_robin", "least_conn")

	dsKeyRef = structSpec(map[string]dataFieldSpec{
		"mount":   dflt(strSpec(reNoSlash), strNode("secret")),
		"path":    req(dsRepoPath),
		"field":   dflt(strSpec(reKeyField), strNode("key")),
		"version": opt(intSpec(1, 2147483647)),
	})
	dsTimeouts = structSpec(map[string]dataFieldSpec{
		"connect": opt(dsDuration), "response": opt(dsDuration), "idle": opt(dsDuration), "body": opt(dsDuration),
	})
	dsHealthCheck = structSpec(map[string]dataFieldSpec{
		"path":          dflt(dsPrefix, strNode("/")),
		"interval":      opt(dsDuration),
		"timeout":       opt(dsDuration),
		"expect_status": opt(intSpec(100, 599)),
	})
	// dsRouteUpstream is `#Upstream | #WeightedUpstream`.
	dsRouteUpstream = &dataSpec{kind: dataString, match: []*regexp.Regexp{reHTTPURL}, alt: structSpec(map[string]dataFieldSpec{
		"url":    req(dsUpstream),
		"weight": dflt(intSpec(1, 1000), intNode(1)),
	})}
	// dsRoute is #Route without static (whose absence makes upstreams required) and the
	// optional fields the data evaluator leaves to CUE.
	dsRoute = withOthers(structSpec(map[string]dataFieldSpec{
		"upstreams":    req(listSpec(dsRouteUpstream, 1)),
		"balance":      dflt(dsBalance, strNode("round_robin")),
		"strip_prefix": dflt(boolSpec, boolNode(false)),
		"timeouts":     opt(dsTimeouts),
		"retries":      dflt(intSpec(0, 10), intNode(0)),
		"health_check": opt(dsHealthCheck),
	}), "compress", "cache_control", "cors", "access", "rate_limit", "basic_auth", "forward_auth", "sticky", "static")
	dsRedirect = structSpec(map[string]dataFieldSpec{
		"to":        req(strSpec(reHTTPURL)),
		"hosts":     opt(listSpec(dsHost, 0)),
		"path":      dflt(dsPrefix, strNode("/")),
		"status":    dflt(&dataSpec{kind: dataInt, lo: 301, hi: 308, ints: []int64{308, 301, 302, 307}}, intNode(308)),
		"keep_path": dflt(boolSpec, boolNode(true)),
	})
	dsHSTS = structSpec(map[string]dataFieldSpec{
		"max_age": opt(dsDuration), "include_subdomains": opt(boolSpec), "preload": opt(boolSpec),
	})
	dsHeaders = structSpec(map[string]dataFieldSpec{
		"hsts":   opt(&dataSpec{kind: dataBool, alt: dsHSTS}),
		"set":    opt(&dataSpec{kind: dataStruct, keyMatch: reToken, keyValue: strSpec()}),
		"remove": opt(listSpec(strSpec(reToken), 0)),
	})
	// dsSite is #Site without passthrough and tls, whose absence makes cert and key
	// required (the schema's `if passthrough == _|_ if tls == _|_`).
	dsSite = withOthers(structSpec(map[string]dataFieldSpec{
		"hosts":     req(listSpec(dsHost, 1)),
		"default":   dflt(boolSpec, boolNode(false)),
		"cert":      req(dsRepoPath),
		"key":       req(dsKeyRef),
		"routes":    opt(&dataSpec{kind: dataStruct, keyMatch: rePathPrefix, keyValue: dsRoute}),
		"redirects": opt(listSpec(dsRedirect, 0)),
		"headers":   opt(dsHeaders),
	}), "passthrough", "error_pages", "maintenance", "rewrites", "access", "forbidden_paths", "rate_limit", "client_auth", "tls")
)
