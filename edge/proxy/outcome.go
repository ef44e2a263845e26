package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
)

// Outcomes of a request that did not end normally, in Info.Outcome. The empty string
// means the upstream's response was passed on whole.
const (
	// OutcomeClientClosed: the client went away (cancelled its stream, closed or reset its
	// connection, aborted its upload) before the response was complete. Logged with
	// status 499 when no response had started, as nginx does.
	OutcomeClientClosed = "client_closed"
	// OutcomeClientError: the client sent a request the proxy cannot forward (a malformed
	// body, an invalid method or Host): 400.
	OutcomeClientError = "client_error"
	// OutcomeBodyTimeout: no request body bytes arrived for the route's Timeouts.Body: 408.
	OutcomeBodyTimeout = "body_timeout"
	// OutcomeUpstreamError: no usable response from the upstream (connection refused or
	// reset, response-header timeout, invalid status, no upstream up): 502, 503 or 504.
	OutcomeUpstreamError = "upstream_error"
	// OutcomeUpstreamAborted: the upstream's response started but its body failed (the
	// upstream closed or reset mid-body); the client's stream is aborted.
	OutcomeUpstreamAborted = "upstream_aborted"
)

// StatusClientClosed is the status recorded for a request whose client went away before a
// response could start (nginx's 499). It is never seen by the client.
const StatusClientClosed = 499

// clientCaused reports whether outcome is the client's doing: such requests never count
// against an upstream's health.
func clientCaused(outcome string) bool {
	switch outcome {
	case OutcomeClientClosed, OutcomeClientError, OutcomeBodyTimeout:
		return true
	}
	return false
}

// clientFault classifies a failed attempt that the client caused, from the request body
// wrapper and the request context; "" means the upstream is to blame.
func clientFault(ctx context.Context, body *trackedBody) string {
	if body != nil {
		if body.stalled.Load() {
			return "" // the upstream did not take the body: its fault
		}
		if body.timedOut.Load() {
			return OutcomeBodyTimeout
		}
		if err := body.err(); err != nil {
			if ctx.Err() != nil || clientGone(err) {
				return OutcomeClientClosed
			}
			if isTimeout(err) {
				return OutcomeBodyTimeout // the server's own ReadTimeout
			}
			return OutcomeClientError
		}
	}
	if ctx.Err() != nil {
		return OutcomeClientClosed
	}
	return ""
}

// clientGone reports whether a request body read error means the client left: its
// connection closed or reset, or its stream cancelled, mid-body.
func clientGone(err error) bool {
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) ||
		(errors.As(err, &ne) && !ne.Timeout()) || err.Error() == "client disconnected"
}

// outcomeStatus is the status answered for a failure of the given outcome (err is the
// last attempt's error, for upstream failures).
func outcomeStatus(outcome string, err error) int {
	switch outcome {
	case OutcomeClientClosed:
		return StatusClientClosed
	case OutcomeBodyTimeout:
		return http.StatusRequestTimeout
	case OutcomeClientError:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge
		}
		return http.StatusBadRequest
	}
	switch {
	case errors.Is(err, errNoUpstream):
		return http.StatusServiceUnavailable
	case isTimeout(err):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}
