package h3srv

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// Server serves HTTP/3 requests on QUIC connections to Handler.
type Server struct {
	// Handler answers the requests.
	Handler http.Handler
	// MaxHeaderBytes bounds a request's header and trailer sections (their size as RFC
	// 9114 section 4.2.2 counts it: name, value and 32 per field); it is also sent as
	// SETTINGS_MAX_FIELD_SECTION_SIZE. A larger section is answered 431. Zero means
	// http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// IdleTimeout closes a connection that has had no request stream open for this long
	// (H3_NO_ERROR). Zero means no timeout beyond QUIC's own.
	IdleTimeout time.Duration
	// ReadHeaderTimeout bounds the time from a request stream's acceptance to its
	// HEADERS frame's last byte: a stream that takes longer is reset
	// (H3_REQUEST_INCOMPLETE). Zero means no bound.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included, from its stream's
	// acceptance; a body read past it fails with a timeout and the handler answers (408,
	// say). WriteTimeout bounds writing a response, from the end of the request's
	// header: a write past it fails (a client that grants no flow control credit). Zero
	// means none, for uploads, downloads and event streams; as net/http's fields.
	ReadTimeout, WriteTimeout time.Duration
	// MaxIncomingStreams is the request streams the QUIC listener lets a client have open
	// at once (its quic.Config.MaxIncomingStreams), if known: a batch's stream credit is
	// then held for the next batch only while the client has half of it to open (else at
	// most 5 ms, see credit.go). Zero: held while other requests of the connection run.
	MaxIncomingStreams int
	// WriteByteTimeout bounds how long a response write may wait for the client to take
	// its bytes (flow-control credit, of the stream or the connection): each stretch of
	// writeChunk bytes must leave within it, else the write fails, the handler sees the
	// error and the stream is reset. A client that keeps the connection alive but stops
	// reading then holds a handler this long at most, as net/http's HTTP/2
	// WriteByteTimeout bounds a TCP connection that stops reading. Zero means none.
	WriteByteTimeout time.Duration
	// ConnContext, if set, returns the context of a connection's requests from the one
	// the server made (the QUIC connection's, with the server's values).
	ConnContext func(ctx context.Context, c *quic.Conn) context.Context
	// Logger logs handler panics; nil means slog.Default().
	Logger *slog.Logger

	initOnce    sync.Once
	graceCtx    context.Context // ended by Shutdown: GOAWAY
	graceCancel context.CancelFunc
	closeCtx    context.Context // ended by Close (or Shutdown's deadline): connections closed
	closeCancel context.CancelFunc

	testCreditHold time.Duration // replaces creditHold in tests (export_test.go)

	mu    sync.Mutex
	conns map[*conn]struct{}
	idle  chan struct{} // closed when conns becomes empty after Shutdown began; nil before
}

// Listener is what ServeListener accepts QUIC connections from (a *quic.Listener).
type Listener interface {
	Accept(context.Context) (*quic.Conn, error)
}

// init makes the server's contexts.
func (s *Server) init() {
	s.initOnce.Do(func() {
		s.graceCtx, s.graceCancel = context.WithCancel(context.Background())
		s.closeCtx, s.closeCancel = context.WithCancel(context.Background())
		s.conns = map[*conn]struct{}{}
	})
}

// maxHeaderBytes returns MaxHeaderBytes or its default.
func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes <= 0 {
		return http.DefaultMaxHeaderBytes
	}
	return s.MaxHeaderBytes
}

// logger returns Logger or the default.
func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// ServeListener serves the connections ln accepts until Shutdown or Close, or until ln
// is closed, and then returns http.ErrServerClosed; or until Accept fails otherwise,
// returning its error. The connections it serves stay served after it returns.
func (s *Server) ServeListener(ln Listener) error {
	s.init()
	for {
		qc, err := ln.Accept(s.graceCtx)
		if err != nil {
			if s.graceCtx.Err() != nil || errors.Is(err, quic.ErrServerClosed) {
				return http.ErrServerClosed
			}
			return err
		}
		c := newConn(s, qc)
		if !s.track(c) {
			qc.CloseWithError(codeNoError.app(), "")
			continue
		}
		go func() {
			defer s.untrack(c)
			c.serve()
			<-qc.Context().Done()
		}()
	}
}

// track adds c to the open connections; false once Shutdown began.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.graceCtx.Err() != nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// untrack removes c, signalling Shutdown when it was the last.
func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if len(s.conns) == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

// Shutdown stops accepting connections, sends GOAWAY on every connection (new request
// streams are refused with H3_REQUEST_REJECTED), and waits until the running requests
// have ended and their connections closed, or ctx ends (then it closes them, as Close).
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.graceCancel()
	var idle chan struct{}
	if len(s.conns) > 0 {
		if s.idle == nil {
			s.idle = make(chan struct{})
		}
		idle = s.idle
	}
	s.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		}
	}
	s.Close()
	return nil
}

// Close closes every connection at once (H3_NO_ERROR) and stops accepting.
func (s *Server) Close() error {
	s.init()
	s.mu.Lock()
	s.graceCancel()
	s.closeCancel()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.qc.CloseWithError(codeNoError.app(), "")
	}
	return nil
}
