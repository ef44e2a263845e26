package h2srv

// edge: fewer allocations per response (README.md, "Changes"):
//
//   - the Date value is formatted once a second, not per response (httpDate);
//   - a response's HEADERS and its final message are one allocation (the handlerFinal
//     holds the writeResHeaders by value: handlerfinal.go);
//   - the header snapshot is Header.Clone (one []string for all values) rather than a
//     slice per key (cloneHeader);
//   - the handler's ServeHTTP method value is bound once per connection (serveHTTP);
//   - a request's decoded fields start with room for metaFieldsCap (readMetaFrame), not
//     grown from one: a short request (h2load's, curl's: 5 to 7 fields) takes one
//     allocation for them instead of four, a browser's (15 to 20) three instead of five.
//
// The bytes on the wire are the same: the same fields, values and order.

import (
	"net/http"
	"sync/atomic"
	"time"
)

// metaFieldsCap is the room a MetaHeadersFrame's Fields start with.
const metaFieldsCap = 8

// dateCache is a formatted Date value and the Unix second it is for.
type dateCache struct {
	sec   int64
	value string
}

var lastDate atomic.Pointer[dateCache]

// httpDate returns the current time as a Date header value (http.TimeFormat), what
// time.Now().UTC().Format(http.TimeFormat) returns, formatted at most about once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := lastDate.Load(); d != nil && d.sec == sec {
		return d.value
	}
	d := &dateCache{sec: sec, value: now.UTC().Format(http.TimeFormat)}
	lastDate.Store(d)
	return d.value
}
