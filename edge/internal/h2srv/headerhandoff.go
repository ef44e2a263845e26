package h2srv

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

// HandOffHeader tells the server that the handler does not use the header map returned
// so far by Header again once it has written the final status: WriteHeader then takes
// the map itself as the response's headers instead of a copy.
func (w *responseWriter) HandOffHeader() {
	if w.rws != nil {
		w.rws.handOffHeader = true
	}
}
