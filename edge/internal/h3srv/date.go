package h3srv

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateValue is the Date header of one second, shared by the responses of that second.
type dateValue struct {
	sec int64
	v   []string
}

// lastDate is the most recent dateValue.
var lastDate atomic.Pointer[dateValue]

// dateHeader returns the Date header's value for now: a slice shared by every response
// of the same second (capacity 1: an append copies it).
func dateHeader() []string {
	now := time.Now()
	if d := lastDate.Load(); d != nil && d.sec == now.Unix() {
		return d.v
	}
	d := &dateValue{sec: now.Unix(), v: []string{now.UTC().Format(http.TimeFormat)}}
	lastDate.Store(d)
	return d.v[:1:1]
}
