package h3srv

import (
	"context"
	"time"
)

// Noticing a client that stops a request. A request's context ends when its stream's
// context does (the client sent STOP_SENDING or reset the stream, or the connection
// ended), which takes a context.AfterFunc on the stream's context: five allocations and
// two locked map updates per request, about 3 % of the CPU a proxied request costs. Most
// requests are answered sooner than a client gives up on them, so a request is watched
// only once its handler has run for watchAfter (as edge's HTTP/1.1 loop starts its
// background read): the connection keeps its running requests in a list, and one timer per
// connection, reset rather than made, arms the watch of those that have run that long.

// watchAfter is how long a handler runs before its client is watched.
const watchAfter = 20 * time.Millisecond

// watch adds st to the connection's running requests.
func (c *conn) watch(st *stream) {
	st.started = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	st.watchIdx = len(c.running)
	c.running = append(c.running, st)
	if len(c.running) > 1 {
		return // the timer is set for an earlier request
	}
	if c.watchTimer == nil {
		c.watchTimer = time.AfterFunc(watchAfter, c.sweep)
		return
	}
	c.watchTimer.Reset(watchAfter)
}

// unwatch removes st from the running requests, and stops its watch if it was armed.
func (c *conn) unwatch(st *stream) {
	c.mu.Lock()
	stop := st.stop
	st.stop = nil
	if i := st.watchIdx; i >= 0 {
		c.dropRunning(i)
	}
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// dropRunning removes the running request at index i (c.mu held).
func (c *conn) dropRunning(i int) {
	last := len(c.running) - 1
	c.running[i].watchIdx = -1
	if i != last {
		c.running[i] = c.running[last]
		c.running[i].watchIdx = i
	}
	c.running[last] = nil
	c.running = c.running[:last]
}

// sweep arms the watch of the requests that have run for watchAfter, and sets the timer
// for the next one.
func (c *conn) sweep() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	next := time.Duration(-1)
	for i := 0; i < len(c.running); {
		st := c.running[i]
		if wait := watchAfter - now.Sub(st.started); wait > 0 {
			if next < 0 || wait < next {
				next = wait
			}
			i++
			continue
		}
		st.stop = context.AfterFunc(st.str.Context(), st.abort)
		c.dropRunning(i) // moves the last one to i
	}
	if next >= 0 {
		c.watchTimer.Reset(next)
	}
}
