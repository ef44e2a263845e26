package h2srv

import (
	"net/http"
	"sync"
)

// edge: the header map handed off at WriteHeader (README.md, "Changes").
//
// Upstream copies the handler's header map when the final status is written (the
// snapshot, snapHeader), because net/http lets a handler keep changing the map, to no
// effect, afterwards. A handler that will not touch the map again says so with
// HandOffHeader before WriteHeader: the map itself becomes the snapshot, with no copy,
// and Header() then returns a new, empty map (changes to it have no effect, as with the
// copy; trailers are set in it as usual). A handler that keeps the map and changes it
// after WriteHeader anyway changes the response (and races with the serve goroutine):
// only call HandOffHeader when no code that runs later holds the map.
//
// A map handed off is the server's once its HEADERS frame is written: wroteFrame clears
// it and puts it back in headerMaps, whence Header takes the maps it hands out, so a
// handler that hands off its map costs no map allocation. A map whose frame is never
// written (the stream reset first) is left to the garbage collector.

// HandOffHeader tells the server that the handler does not use the header map returned
// so far by Header again once it has written the final status: WriteHeader then takes
// the map itself as the response's headers instead of a copy.
func (w *responseWriter) HandOffHeader() {
	if w.rws != nil {
		w.rws.handOffHeader = true
	}
}

// headerMaps pools the header maps handed off, cleared, for Header.
var headerMaps = sync.Pool{New: func() any { return make(http.Header) }}

// newHeaderMap returns an empty header map, one handed off before if there is one.
func newHeaderMap() http.Header { return headerMaps.Get().(http.Header) }

// putHeaderMap puts back in headerMaps the handed-off map of w, a HEADERS frame just
// written.
func putHeaderMap(w writeFramer) {
	if wh, ok := w.(*writeResHeaders); ok && wh.handedOff && wh.h != nil {
		h := wh.h
		wh.h, wh.handedOff = nil, false
		clear(h)
		headerMaps.Put(h)
	}
}
