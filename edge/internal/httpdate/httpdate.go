// Package httpdate gives edge's servers (the HTTP/1.1 loop, h2srv, h3srv) the Date header
// value, formatted at most about once a second instead of once a response.
package httpdate

import (
	"net/http"
	"sync/atomic"
	"time"
)

// stamp is one second's value, never changed once stored.
type stamp struct {
	sec  int64
	text string
	b    []byte
}

var last atomic.Pointer[stamp]

// now returns the current second's stamp.
func now() *stamp {
	t := time.Now()
	if d := last.Load(); d != nil && d.sec == t.Unix() {
		return d
	}
	b := t.UTC().AppendFormat(nil, http.TimeFormat)
	d := &stamp{sec: t.Unix(), text: string(b), b: b}
	last.Store(d)
	return d
}

// String returns the current time in http.TimeFormat, what
// time.Now().UTC().Format(http.TimeFormat) returns.
func String() string { return now().text }

// Bytes is String as bytes, shared: the caller must not change them.
func Bytes() []byte { return now().b }
