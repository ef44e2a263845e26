package edge

import (
	"bufio"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// headerNewlineToSpace is net/http's: a header value's CR and LF become spaces.
var headerNewlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// writeHeader writes h but the keys in exclude to bw in wire format, byte for byte as
// h.WriteSubset(bw, exclude) does (keys sorted; invalid field names dropped; CR and LF in
// values made spaces, the values then trimmed of ASCII space), without its pooled sorter,
// its sort callback and four interface calls per line. keys is scratch space for the
// sorted keys, returned for the next call.
func writeHeader(bw *bufio.Writer, h http.Header, exclude map[string]bool, keys []string) []string {
	keys = keys[:0]
	for k := range h {
		keys = append(keys, k)
	}
	return writeHeaderKeys(bw, h, exclude, keys)
}

// writeHeaderKeys is writeHeader with the keys of h to write collected already (some of
// h's keys, each once; those since deleted from h write nothing), in keys, which it
// returns emptied for the next call.
func writeHeaderKeys(bw *bufio.Writer, h http.Header, exclude map[string]bool, keys []string) []string {
	if len(exclude) > 0 {
		kept := keys[:0]
		for _, k := range keys {
			if !exclude[k] {
				kept = append(kept, k)
			}
		}
		clear(keys[len(kept):])
		keys = kept
	}
	slices.Sort(keys) // the keys are distinct: the order is strings.Compare's, WriteSubset's
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range h[k] {
			if !plainHeaderValue(v) {
				v = textproto.TrimString(headerNewlineToSpace.Replace(v))
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	clear(keys) // no strings kept alive by the scratch space
	return keys
}

// plainHeaderValue reports whether v goes out unchanged: no CR or LF, no ASCII space at
// either end.
func plainHeaderValue(v string) bool {
	if v == "" {
		return true
	}
	if isHeaderSpace(v[0]) || isHeaderSpace(v[len(v)-1]) {
		return false
	}
	return strings.IndexByte(v, '\n') < 0 && strings.IndexByte(v, '\r') < 0
}

// isHeaderSpace is textproto's isASCIISpace.
func isHeaderSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
