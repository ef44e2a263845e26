// Package h3srv is edge's HTTP/3 server (RFC 9114) on quic-go's QUIC connections.
//
// quic-go's own http3.Server, with its transport, turns each request into about a hundred
// heap objects, among them a frame parser, a state-tracking stream wrapper, a
// context.WithCancel and an AfterFunc, an http.Header built through textproto, a response
// writer with a bytes.Buffer for its QPACK block, and a goroutine per request stream that
// waits while edge's handler runs on a reused worker. Here a request stream is served on a
// reused worker (the handler runs there directly), the request, its body reader, its
// response writer and its context are one allocation, the stream's read and write buffers
// come from pools, the TLS state and the remote address are computed once per connection,
// and a response that fits the write buffer leaves in one stream write (HEADERS and DATA
// frames) followed by the FIN; the last writes of the responses whose handlers end
// together on a connection are written in a row, so that quic-go packs them into shared
// packets (batch.go).
//
// What it serves: requests on client-initiated bidirectional streams, one HEADERS frame
// and optional DATA frames and trailers; QPACK with the static table only (the server
// advertises no dynamic table, as quic-go does); the peer's control stream (SETTINGS
// first, GOAWAY, MAX_PUSH_ID, PRIORITY_UPDATE and unknown frames), QPACK encoder and
// decoder streams (drained), unknown stream types (refused with
// H3_STREAM_CREATION_ERROR); GOAWAY and a drain on Shutdown; an idle timeout for
// connections without requests; a bound on the time to a request's HEADERS frame. No
// server push, no extended CONNECT, no datagrams. Protocol violations get the error codes
// of RFC 9114 section 8.1: stream errors reset the stream, connection errors close the
// connection.
package h3srv
