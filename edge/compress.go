package edge

import (
	"net/http"
	"strconv"
	"strings"
)

// encodeWriter applies an encodeHandler's rules to one response: Cache-Control when the
// status is final, then compression when the response qualifies. A response of unknown
// length is held (up to the minimum size) until it is long enough, flushed or complete.
type encodeWriter struct {
	http.ResponseWriter
	h          *encodeHandler
	cacheValue string // Cache-Control to set on 2xx/3xx; "" for none
	candidate  bool   // the route compresses
	coding     string // what the client accepts best; "" for none
	head       bool   // a HEAD request: headers only

	status  int             // final status; 0 until WriteHeader
	state   encState        // what happens to the body
	held    []byte          // body held while stateHolding
	enc     encoder         // while stateCompressing
	counter *countingWriter // the compressed bytes written
	in      int64           // the bytes compressed
}

type encState uint8

const (
	stateNone        encState = iota // headers not sent
	statePlain                       // headers sent; the body goes as it is
	stateHolding                     // might compress, length unknown: holding the body
	stateCompressing                 // headers sent with Content-Encoding
)

// WriteHeader applies the rules on the final status; informational statuses pass.
func (w *encodeWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.status = code
	h := w.ResponseWriter.Header()
	may := w.candidate && w.mayCompress(h) // the upstream's no-transform counts
	if w.cacheValue != "" && cacheableStatus(code) {
		h["Cache-Control"] = []string{w.cacheValue}
		may = may && !hasToken(h["Cache-Control"], "no-transform") // and the rule's
	}
	if !may {
		w.sendPlain()
		return
	}
	addVary(h, "Accept-Encoding")
	if w.coding == "" || w.head {
		w.sendPlain()
		return
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err != nil || n < w.h.compress.minSize {
			w.sendPlain()
			return
		}
		w.startCompressing()
		return
	}
	w.state = stateHolding
}

// mayCompress reports whether the response with headers h may be compressed, whatever
// the client accepts: a status with a body (not 204, 206, 304), no Content-Encoding or
// Content-Range yet, no Cache-Control: no-transform, and a configured media type.
func (w *encodeWriter) mayCompress(h http.Header) bool {
	switch {
	case w.status < 200 || w.status == http.StatusNoContent || w.status == http.StatusPartialContent || w.status == http.StatusNotModified:
		return false
	case h.Get("Content-Range") != "":
		return false
	case h.Get("Content-Encoding") != "" && !strings.EqualFold(h.Get("Content-Encoding"), "identity"):
		return false
	case hasToken(h["Cache-Control"], "no-transform"):
		return false
	}
	return w.h.compress.compressibleType(h.Get("Content-Type"))
}

// sendPlain sends the headers for a body that goes as it is.
func (w *encodeWriter) sendPlain() {
	w.state = statePlain
	w.ResponseWriter.WriteHeader(w.status)
}

// startCompressing sends the headers of a compressed body and takes an encoder; with none
// free (maxEncoders), the body goes as it is.
func (w *encodeWriter) startCompressing() {
	w.counter = &countingWriter{w: w.ResponseWriter}
	w.enc = getEncoder(w.coding, w.counter)
	if w.enc == nil {
		w.sendPlain()
		return
	}
	h := w.ResponseWriter.Header()
	delete(h, "Content-Length")
	delete(h, "Accept-Ranges")
	h["Content-Encoding"] = []string{w.coding}
	if et := h.Get("Etag"); strings.HasPrefix(et, `"`) {
		h.Set("Etag", "W/"+et) // the same content, other bytes: weakly equal
	}
	w.state = stateCompressing
	w.ResponseWriter.WriteHeader(w.status)
}

// Write writes body bytes, sending a 200 status first if none was.
func (w *encodeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	switch w.state {
	case stateCompressing:
		n, err := w.enc.Write(b)
		w.in += int64(n)
		return n, err
	case stateHolding:
		if int64(len(w.held)+len(b)) < w.h.compress.minSize {
			w.held = append(w.held, b...)
			return len(b), nil
		}
		w.startCompressing()
		if err := w.writeHeld(); err != nil {
			return 0, err
		}
		return w.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// writeHeld writes the held body on through the current state.
func (w *encodeWriter) writeHeld() error {
	held := w.held
	w.held = nil
	if len(held) == 0 {
		return nil
	}
	var err error
	if w.state == stateCompressing {
		_, err = w.enc.Write(held)
		w.in += int64(len(held))
	} else {
		_, err = w.ResponseWriter.Write(held)
	}
	return err
}

// FlushError sends what was written so far, for http.ResponseController: a held body is
// compressed from here on (a flushed response is a stream, likely to grow), and the
// encoder's pending output goes out with it.
func (w *encodeWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.state == stateHolding {
		w.startCompressing()
		if err := w.writeHeld(); err != nil {
			return err
		}
	}
	if w.state == stateCompressing {
		if err := w.enc.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *encodeWriter) Flush() { _ = w.FlushError() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *encodeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish completes the response after the handler returned: a held body shorter than the
// minimum goes as it is, with its length; a compressed one gets its end.
func (w *encodeWriter) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	switch w.state {
	case stateHolding:
		w.ResponseWriter.Header()["Content-Length"] = []string{strconv.Itoa(len(w.held))}
		w.sendPlain()
		_ = w.writeHeld()
	case stateCompressing:
		_ = w.enc.Close()
	}
}

// release gives the encoder back, however the handler ended.
func (w *encodeWriter) release() {
	if w.enc != nil {
		putEncoder(w.coding, w.enc)
		w.enc = nil
		if s := w.h.siteStats; s != nil && w.counter != nil {
			s.add(w.in, w.counter.n)
		}
	}
}

// addVary adds name to h's Vary unless it is there (or "*" is).
func addVary(h http.Header, name string) {
	for _, v := range h["Vary"] {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}
