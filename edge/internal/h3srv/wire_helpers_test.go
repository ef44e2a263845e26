package h3srv_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// guard bounds every wait in the wire tests; it only turns a hang into a failure.
const guard = 20 * time.Second

// HTTP/3 error codes (RFC 9114 section 8.1, RFC 9204 section 6).
const (
	h3NoError               = 0x100
	h3InternalError         = 0x102
	h3StreamCreationError   = 0x103
	h3ClosedCriticalStream  = 0x104
	h3FrameUnexpected       = 0x105
	h3FrameError            = 0x106
	h3IDError               = 0x108
	h3SettingsError         = 0x109
	h3MissingSettings       = 0x10a
	h3RequestRejected       = 0x10b
	h3RequestCancelled      = 0x10c
	h3RequestIncomplete     = 0x10d
	h3MessageError          = 0x10e
	qpackDecompressionFail  = 0x200
	qpackEncoderStreamError = 0x201
)

// Frame types (RFC 9114 section 7.2) and unidirectional stream types (section 6.2).
const (
	frameData        = 0x00
	frameHeaders     = 0x01
	frameCancelPush  = 0x03
	frameSettings    = 0x04
	framePushPromise = 0x05
	frameGoaway      = 0x07
	frameMaxPushID   = 0x0d
	frameGrease      = 0x21 // reserved (0x1f*N + 0x21): must be ignored

	streamControl   = 0x00
	streamPush      = 0x01
	streamQPACKEnc  = 0x02
	streamQPACKDec  = 0x03
	streamGrease    = 0x21
	settingMaxField = 0x06
)

var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
})

// quicConf enables RESET_STREAM_AT so that a test can reset a stream after data
// the peer is sure to read (SendStream.SetReliableBoundary).
func quicConf() *quic.Config { return &quic.Config{EnableStreamResetPartialDelivery: true} }

// serverConf is the test listener's: quicConf, and stream credit released by the
// server, as edge configures it (credit.go).
func serverConf() *quic.Config {
	conf := quicConf()
	conf.RequireStreamCreditRelease = true
	return conf
}

// testServer is an h3srv.Server serving a real quic.Listener on 127.0.0.1.
type testServer struct {
	srv      *h3srv.Server
	addr     string
	served   chan struct{} // closed when ServeListener returned
	serveErr error         // ServeListener's result, valid after served is closed
}

// startServer serves srv on a fresh QUIC listener until the test ends.
func startServer(t *testing.T, srv *h3srv.Server) *testServer {
	t.Helper()
	return startServerConf(t, srv, serverConf())
}

// startServerConf is startServer with the listener's QUIC configuration conf.
func startServerConf(t *testing.T, srv *h3srv.Server, conf *quic.Config) *testServer {
	t.Helper()
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	if srv.Logger == nil {
		srv.Logger = slog.New(slog.DiscardHandler)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h3"}}
	ln, err := quic.ListenAddr("127.0.0.1:0", tlsConf, conf)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv, addr: ln.Addr().String(), served: make(chan struct{})}
	go func() {
		ts.serveErr = srv.ServeListener(ln)
		close(ts.served)
	}()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		ts.waitServed(t)
		ln.Close()
	})
	return ts
}

// waitServed waits for ServeListener to return and checks it returned http.ErrServerClosed.
func (ts *testServer) waitServed(t *testing.T) {
	t.Helper()
	select {
	case <-ts.served:
		if !errors.Is(ts.serveErr, http.ErrServerClosed) {
			t.Errorf("ServeListener returned %v, want http.ErrServerClosed", ts.serveErr)
		}
	case <-time.After(guard):
		t.Errorf("ServeListener did not return")
	}
}

// url is an https URL of path on the test server.
func (ts *testServer) url(path string) string { return "https://" + ts.addr + path }

// newH3Client is quic-go's own HTTP/3 client, trusting any certificate.
func newH3Client(t *testing.T) *http.Client {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h3"}},
		QUICConfig:      &quic.Config{},
	}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr}
}

// guardCtx is a context that ends with the test or after guard.
func guardCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), guard)
	t.Cleanup(cancel)
	return ctx
}

// rawConn is a QUIC connection to the server on which the test speaks HTTP/3 frames itself.
type rawConn struct {
	conn     *quic.Conn
	ctrl     chan rawFrame // frames of the server's control stream, in order; closed when it ends
	ctrlOnce sync.Once     // the first control stream is the one read
}

// rawFrame is one HTTP/3 frame.
type rawFrame struct {
	typ     uint64
	payload []byte
}

// dialRaw connects to ts without sending anything; the server's unidirectional
// streams are read in the background (control stream frames go to ctrl).
func dialRaw(t *testing.T, ts *testServer) *rawConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	tlsConf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h3"}}
	conn, err := quic.DialAddr(ctx, ts.addr, tlsConf, quicConf())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseWithError(0, "") })
	rc := &rawConn{conn: conn, ctrl: make(chan rawFrame, 16)}
	go rc.acceptUni()
	return rc
}

// dialReady is dialRaw plus the client's control stream with an empty SETTINGS frame.
func dialReady(t *testing.T, ts *testServer) *rawConn {
	t.Helper()
	rc := dialRaw(t, ts)
	rc.openUni(t, streamControl, frame(frameSettings, nil))
	return rc
}

func (rc *rawConn) acceptUni() {
	ctx := rc.conn.Context()
	for {
		str, err := rc.conn.AcceptUniStream(ctx)
		if err != nil {
			return
		}
		go rc.readUni(str)
	}
}

func (rc *rawConn) readUni(str *quic.ReceiveStream) {
	r := bufio.NewReader(str)
	typ, err := quicvarint.Read(r)
	if err != nil {
		return
	}
	first := false
	if typ == streamControl {
		rc.ctrlOnce.Do(func() { first = true })
	}
	if !first { // QPACK streams, unknown types, a second control stream
		io.Copy(io.Discard, r)
		return
	}
	defer close(rc.ctrl)
	for {
		f, err := readFrame(r)
		if err != nil {
			return
		}
		select {
		case rc.ctrl <- f:
		case <-rc.conn.Context().Done():
			return
		}
	}
}

// nextCtrl is the next frame on the server's control stream.
func (rc *rawConn) nextCtrl(t *testing.T) rawFrame {
	t.Helper()
	select {
	case f, ok := <-rc.ctrl:
		if !ok {
			t.Fatalf("server's control stream ended (connection: %v)", context.Cause(rc.conn.Context()))
		}
		return f
	case <-time.After(guard):
		t.Fatal("no frame on the server's control stream")
	}
	return rawFrame{}
}

// openUni opens a unidirectional stream of type typ and writes data after the type.
func (rc *rawConn) openUni(t *testing.T, typ uint64, data ...[]byte) *quic.SendStream {
	t.Helper()
	str, err := rc.conn.OpenUniStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := str.Write(bytes.Join(append([][]byte{varint(typ)}, data...), nil)); err != nil {
		t.Fatal(err)
	}
	return str
}

// openRequest opens a request stream, writes data and, with fin, ends the stream.
func (rc *rawConn) openRequest(t *testing.T, data []byte, fin bool) *quic.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	str, err := rc.conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 {
		if _, err := str.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if fin {
		str.Close()
	}
	str.SetReadDeadline(time.Now().Add(guard))
	return str
}

// roundTrip sends a request (HEADERS then DATA frames of body, if any) and reads the response.
func (rc *rawConn) roundTrip(t *testing.T, fields []qpack.HeaderField, body ...[]byte) *rawResponse {
	t.Helper()
	data := headersFrame(fields...)
	for _, b := range body {
		data = append(data, dataFrame(b)...)
	}
	str := rc.openRequest(t, data, true)
	resp, err := readResponse(str)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	return resp
}

// get is a GET of path that must succeed with 200.
func (rc *rawConn) get(t *testing.T, ts *testServer, path string) *rawResponse {
	t.Helper()
	resp := rc.roundTrip(t, reqFields(ts, "GET", path))
	if resp.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", path, resp.status)
	}
	return resp
}

// varint is v as a QUIC variable-length integer.
func varint(v uint64) []byte { return quicvarint.Append(nil, v) }

// frame is an HTTP/3 frame of type typ.
func frame(typ uint64, payload []byte) []byte {
	b := quicvarint.Append(nil, typ)
	b = quicvarint.Append(b, uint64(len(payload)))
	return append(b, payload...)
}

func dataFrame(p []byte) []byte { return frame(frameData, p) }

// qpackBlock is fields QPACK-encoded (static table and literals only).
func qpackBlock(fields ...qpack.HeaderField) []byte {
	var buf bytes.Buffer
	enc := qpack.NewEncoder(&buf)
	for _, f := range fields {
		enc.WriteField(f)
	}
	if len(fields) == 0 { // an empty field section still has its prefix
		return []byte{0, 0}
	}
	return buf.Bytes()
}

func headersFrame(fields ...qpack.HeaderField) []byte {
	return frame(frameHeaders, qpackBlock(fields...))
}

// settingsFrame is a SETTINGS frame of identifier/value pairs.
func settingsFrame(kv ...uint64) []byte {
	var p []byte
	for _, v := range kv {
		p = quicvarint.Append(p, v)
	}
	return frame(frameSettings, p)
}

// hf is a header field.
func hf(name, value string) qpack.HeaderField { return qpack.HeaderField{Name: name, Value: value} }

// reqFields are the pseudo-header fields of a well-formed request.
func reqFields(ts *testServer, method, path string, extra ...qpack.HeaderField) []qpack.HeaderField {
	f := []qpack.HeaderField{hf(":method", method), hf(":scheme", "https"), hf(":authority", ts.addr), hf(":path", path)}
	return append(f, extra...)
}

// readFrame reads one frame (payloads up to 16 MiB).
func readFrame(r *bufio.Reader) (rawFrame, error) {
	typ, err := quicvarint.Read(r)
	if err != nil {
		return rawFrame{}, err
	}
	n, err := quicvarint.Read(r)
	if err != nil {
		return rawFrame{}, noEOF(err)
	}
	if n > 16<<20 {
		return rawFrame{}, fmt.Errorf("frame type %#x: length %d", typ, n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return rawFrame{}, noEOF(err)
	}
	return rawFrame{typ: typ, payload: p}, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// rawResponse is a response as its frames arrived.
type rawResponse struct {
	status     int
	header     http.Header   // final response's fields (pseudo-headers excluded)
	interim    []int         // 1xx statuses, in order
	interimHdr []http.Header // their fields
	body       []byte
	dataFrames int
	trailer    http.Header // nil without a trailer section
	frameTypes []uint64    // every frame type received, in order
	names      []string    // every field name received, as sent
}

// readResponse reads frames from str until the stream ends.
func readResponse(str io.Reader) (*rawResponse, error) {
	r := bufio.NewReader(str)
	resp := &rawResponse{}
	for {
		f, err := readFrame(r)
		if err == io.EOF {
			if resp.status == 0 {
				return resp, errors.New("stream ended without a response")
			}
			return resp, nil
		}
		if err != nil {
			return resp, err
		}
		resp.frameTypes = append(resp.frameTypes, f.typ)
		if err := resp.add(f); err != nil {
			return resp, err
		}
	}
}

func (resp *rawResponse) add(f rawFrame) error {
	switch f.typ {
	case frameHeaders:
		fields, err := decodeFields(f.payload)
		if err != nil {
			return err
		}
		return resp.addHeaders(fields)
	case frameData:
		if resp.status == 0 || resp.trailer != nil {
			return fmt.Errorf("DATA frame out of place (frames %v)", resp.frameTypes)
		}
		resp.dataFrames++
		resp.body = append(resp.body, f.payload...)
	}
	return nil
}

func (resp *rawResponse) addHeaders(fields []qpack.HeaderField) error {
	h := http.Header{}
	status := 0
	for _, f := range fields {
		resp.names = append(resp.names, f.Name)
		if f.Name == ":status" {
			status, _ = strconv.Atoi(f.Value)
			continue
		}
		h.Add(f.Name, f.Value)
	}
	switch {
	case resp.status != 0: // trailers
		if resp.trailer != nil || status != 0 {
			return errors.New("HEADERS frame after the trailers or with :status")
		}
		resp.trailer = h
	case status >= 100 && status < 200:
		resp.interim = append(resp.interim, status)
		resp.interimHdr = append(resp.interimHdr, h)
	case status >= 200:
		resp.status, resp.header = status, h
	default:
		return fmt.Errorf("response HEADERS with :status %d", status)
	}
	return nil
}

func decodeFields(block []byte) ([]qpack.HeaderField, error) {
	var fields []qpack.HeaderField
	next := qpack.NewDecoder().Decode(block)
	for {
		f, err := next()
		if err == io.EOF {
			return fields, nil
		}
		if err != nil {
			return nil, fmt.Errorf("qpack: %w", err)
		}
		fields = append(fields, f)
	}
}

// wantStreamReset reads str to its end and wants a reset by the server with code.
// A response before the reset is allowed (RFC 9114 section 4.1.2).
func wantStreamReset(t *testing.T, str *quic.Stream, code uint64) {
	t.Helper()
	resp, err := readResponse(str)
	var serr *quic.StreamError
	switch {
	case err == nil:
		t.Errorf("stream %d ended cleanly with status %d, want a reset with %#x", str.StreamID(), resp.status, code)
	case errors.As(err, &serr):
		if !serr.Remote || uint64(serr.ErrorCode) != code {
			t.Errorf("stream %d: %v (code %#x), want a reset by the server with %#x", str.StreamID(), err, uint64(serr.ErrorCode), code)
		}
	default:
		t.Errorf("stream %d: %v, want a reset with %#x", str.StreamID(), err, code)
	}
}

// wantConnClosed waits for the server to close the connection and wants code.
func wantConnClosed(t *testing.T, rc *rawConn, code uint64) {
	t.Helper()
	ctx := rc.conn.Context()
	select {
	case <-ctx.Done():
	case <-time.After(guard):
		t.Errorf("connection still open, want it closed with %#x", code)
		return
	}
	cause := context.Cause(ctx)
	var aerr *quic.ApplicationError
	if !errors.As(cause, &aerr) || !aerr.Remote || uint64(aerr.ErrorCode) != code {
		t.Errorf("connection closed with %v, want the server's %#x", cause, code)
	}
}

// wantConnOpen fails when the connection was closed.
func wantConnOpen(t *testing.T, rc *rawConn) {
	t.Helper()
	if err := rc.conn.Context().Err(); err != nil {
		t.Errorf("connection closed: %v", context.Cause(rc.conn.Context()))
	}
}

// wantQPACKFailure wants QPACK_DECOMPRESSION_FAILED as a stream reset or a connection
// close and reports which one the server chose.
func wantQPACKFailure(t *testing.T, str *quic.Stream) {
	t.Helper()
	_, err := readResponse(str)
	var serr *quic.StreamError
	var aerr *quic.ApplicationError
	switch {
	case errors.As(err, &serr) && serr.Remote && serr.ErrorCode == qpackDecompressionFail:
		t.Logf("observed: stream reset with QPACK_DECOMPRESSION_FAILED")
	case errors.As(err, &aerr) && aerr.Remote && aerr.ErrorCode == qpackDecompressionFail:
		t.Logf("observed: connection closed with QPACK_DECOMPRESSION_FAILED")
	default:
		t.Errorf("got %v, want QPACK_DECOMPRESSION_FAILED (0x200)", err)
	}
}

// recv waits for a value on ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// outcome describes how a request stream ended, for failure messages.
func outcome(str *quic.Stream) string {
	resp, err := readResponse(str)
	var serr *quic.StreamError
	var aerr *quic.ApplicationError
	switch {
	case err == nil:
		return fmt.Sprintf("response %d", resp.status)
	case errors.As(err, &serr):
		return fmt.Sprintf("stream reset %#x", uint64(serr.ErrorCode))
	case errors.As(err, &aerr):
		return fmt.Sprintf("connection closed %#x %q", uint64(aerr.ErrorCode), aerr.ErrorMessage)
	}
	return err.Error()
}
