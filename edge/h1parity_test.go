package edge

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// parityCase is one behaviour of net/http's server that edge's HTTP/1.1 loop must have:
// the same handler, the same client steps, the same result.
type parityCase struct {
	name   string
	listen string // the servers' listening address; "" is 127.0.0.1:0
	// handler is the handler, made anew for each server; it may send what it observes
	// on report (buffered).
	handler func(report chan<- string) http.Handler
	// client runs the client's steps against addr and returns what it observed, the
	// handler's reports included.
	client func(t *testing.T, addr string, report <-chan string) string
}

// parityServer serves h with net/http's server (edge false) or with edge's loop in front
// of it, on a TLS listener at listen, and returns the address to dial (127.0.0.1).
func parityServer(t *testing.T, h http.Handler, listen string, edge bool) string {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert(t, "h1.test")}, NextProtos: []string{"http/1.1"}}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, cfg)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	var loop *h1Server
	if edge {
		loop = newH1Server(hs, tln, context.Background())
		go hs.Serve(loop.queue)
		go loop.serve()
	} else {
		go hs.Serve(tln)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if loop != nil {
			loop.shutdown(ctx)
		}
		hs.Shutdown(ctx)
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return net.JoinHostPort("127.0.0.1", port)
}

// awaitReport returns the handler's next report, or fails the test after 10 s.
func awaitReport(t *testing.T, report <-chan string) string {
	t.Helper()
	select {
	case s := <-report:
		return s
	case <-time.After(10 * time.Second):
		t.Error("no report from the handler within 10 s")
		return "<no report>"
	}
}

// dialParity opens an HTTP/1.1 TLS connection to a parityServer, with a 20 s deadline.
func dialParity(t *testing.T, addr string) *tls.Conn {
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "h1.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

func parityCases() []parityCase {
	return []parityCase{
		{
			// The connection's local address (net/http's conn.serve), not the listener's,
			// which is a wildcard here; the server as http.Server.Serve sets it.
			name:   "context local address and server",
			listen: "0.0.0.0:0",
			handler: func(chan<- string) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					la, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
					srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
					host := "<none>"
					if la != nil {
						host, _, _ = net.SplitHostPort(la.String())
					}
					fmt.Fprintf(w, "local %s server %v", host, srv != nil && srv.Handler != nil)
				})
			},
			client: func(t *testing.T, addr string, _ <-chan string) string {
				return exchange(t, addr, []string{rawReq("GET", "/", true)})
			},
		},
		{
			// net/http's finishRequest removes the multipart form's temporary files. The
			// second request on the connection is answered after the first is finished.
			name: "multipart temporary files removed",
			handler: func(report chan<- string) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method != http.MethodPost {
						return
					}
					if err := r.ParseMultipartForm(0); err != nil { // files on disk
						report <- "parse: " + err.Error()
						return
					}
					f, err := r.MultipartForm.File["f"][0].Open()
					if err != nil {
						report <- "open: " + err.Error()
						return
					}
					defer f.Close()
					if osf, ok := f.(*os.File); ok {
						report <- osf.Name()
					} else {
						report <- "<in memory>"
					}
				})
			},
			client: func(t *testing.T, addr string, report <-chan string) string {
				var body strings.Builder
				mw := multipart.NewWriter(&body)
				fw, _ := mw.CreateFormFile("f", "f.txt")
				io.WriteString(fw, "file content")
				mw.Close()
				post := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: h1.test\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
					mw.FormDataContentType(), body.Len(), body.String())
				out := exchange(t, addr, []string{post + closing})
				path := awaitReport(t, report)
				if _, err := os.Stat(path); err == nil {
					os.Remove(path)
					return out + " temporary file kept"
				}
				return out + " temporary file removed"
			},
		},
		{
			// A read from the client that fails (it left mid-body) ends the request's context
			// at once, as net/http's connReader does.
			name: "failed body read cancels the context",
			handler: func(report chan<- string) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, err := io.ReadAll(r.Body)
					report <- fmt.Sprintf("read error %v, context %v", err != nil, r.Context().Err())
				})
			},
			client: func(t *testing.T, addr string, report <-chan string) string {
				c := dialParity(t, addr)
				io.WriteString(c, "POST / HTTP/1.1\r\nHost: h1.test\r\nContent-Length: 100\r\n\r\nonly ten..")
				c.Close()
				return awaitReport(t, report)
			},
		},
		{
			// A write to the client that fails ends the request's context at once, as
			// net/http's checkConnErrorWriter does. The body is too large to be read by the
			// server, so no background read watches the client: only the write tells.
			name: "failed write cancels the context",
			handler: func(report chan<- string) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					rc := http.NewResponseController(w)
					rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
					chunk := make([]byte, 32<<10)
					failed := false
					for i := 0; i < 1000 && !failed; i++ {
						_, err := w.Write(chunk)
						failed = err != nil || rc.Flush() != nil
					}
					report <- fmt.Sprintf("write failed %v, context %v", failed, r.Context().Err())
				})
			},
			client: func(t *testing.T, addr string, report <-chan string) string {
				c := dialParity(t, addr)
				io.WriteString(c, "POST / HTTP/1.1\r\nHost: h1.test\r\nContent-Length: 1000000\r\n\r\n")
				c.Close()
				return awaitReport(t, report)
			},
		},
		{
			// A server without a Handler serves http.DefaultServeMux (nothing registered
			// there in these tests: 404).
			name:    "nil handler",
			handler: func(chan<- string) http.Handler { return nil },
			client: func(t *testing.T, addr string, _ <-chan string) string {
				return exchange(t, addr, []string{rawReq("GET", "/", true)})
			},
		},
		{
			// http.CloseNotifier (deprecated, still there): told when the client leaves.
			name: "CloseNotify when the client leaves",
			handler: func(report chan<- string) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					cn, ok := w.(http.CloseNotifier)
					if !ok {
						report <- "no CloseNotifier"
						return
					}
					select {
					case v := <-cn.CloseNotify():
						report <- fmt.Sprintf("notified %v, context %v", v, r.Context().Err())
					case <-time.After(10 * time.Second):
						report <- "not notified within 10 s"
					}
				})
			},
			client: func(t *testing.T, addr string, report <-chan string) string {
				c := dialParity(t, addr)
				io.WriteString(c, rawReq("GET", "/", false))
				c.Close()
				return awaitReport(t, report)
			},
		},
		{
			// http.Hijacker: the connection and its buffered reader, which holds what the
			// client sent after the request; the ResponseWriter is done with.
			name:    "hijack",
			handler: func(chan<- string) http.Handler { return http.HandlerFunc(hijackHandler) },
			client: func(t *testing.T, addr string, _ <-chan string) string {
				return exchange(t, addr, []string{rawReq("GET", "/", false) + "ping\n"})
			},
		},
		{
			// Hijack after WriteHeader: the head goes first (chunked, the handler not done).
			name:    "hijack after WriteHeader",
			handler: func(chan<- string) http.Handler { return http.HandlerFunc(hijackHandler) },
			client: func(t *testing.T, addr string, _ <-chan string) string {
				return exchange(t, addr, []string{rawReq("GET", "/head", false) + "ping\n"})
			},
		},
	}
}

// hijackHandler takes the connection over, reads a line the client sent after the
// request and answers it raw, with what the ResponseWriter says after the hijack.
func hijackHandler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/head" {
		w.Header().Set("X-Head", "1")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "lost in the response's buffer")
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	line, err := brw.ReadString('\n')
	_, werr := io.WriteString(w, "x")
	_, again, herr := w.(http.Hijacker).Hijack()
	msg := fmt.Sprintf("line %q %v, write %v, again %v %v", line, err, werr, again != nil, herr)
	if r.URL.Path == "/head" {
		fmt.Fprintf(brw, "%x\r\n%s\r\n0\r\n\r\n", len(msg), msg)
	} else {
		fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(msg), msg)
	}
	brw.Flush()
}

// TestH1Parity: for each parityCase, edge's HTTP/1.1 loop gives the client (and the
// handler) what net/http's server gives.
func TestH1Parity(t *testing.T) {
	for _, pc := range parityCases() {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			listen := pc.listen
			if listen == "" {
				listen = "127.0.0.1:0"
			}
			run := func(edge bool) string {
				report := make(chan string, 4)
				addr := parityServer(t, pc.handler(report), listen, edge)
				return pc.client(t, addr, report)
			}
			want, got := run(false), run(true)
			if got != want {
				t.Errorf("edge's loop:\n%q\nnet/http:\n%q", got, want)
			}
		})
	}
}

// TestH1ParityShutdownAfterHijack: a hijacked connection is the handler's, not the
// server's: Shutdown returns without waiting for it, with net/http's server as with the
// loop (which would otherwise wait for it until the context ends, here 10 s).
func TestH1ParityShutdownAfterHijack(t *testing.T) {
	for _, edge := range []bool{false, true} {
		hijacked, release := make(chan struct{}), make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("edge %v: hijack: %v", edge, err)
				close(hijacked)
				return
			}
			defer conn.Close()
			close(hijacked)
			<-release
		})
		cfg := &tls.Config{Certificates: []tls.Certificate{cert(t, "h1.test")}, NextProtos: []string{"http/1.1"}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
		shutdown := hs.Shutdown
		if edge {
			loop := newH1Server(hs, tls.NewListener(ln, cfg), context.Background())
			go hs.Serve(loop.queue)
			go loop.serve()
			shutdown = func(ctx context.Context) error { defer hs.Shutdown(ctx); return loop.shutdown(ctx) }
		} else {
			go hs.Serve(tls.NewListener(ln, cfg))
		}
		c := dialParity(t, ln.Addr().String())
		io.WriteString(c, rawReq("GET", "/", false))
		select {
		case <-hijacked:
		case <-time.After(10 * time.Second):
			t.Fatalf("edge %v: the handler did not run within 10 s", edge)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = shutdown(ctx)
		cancel()
		close(release)
		c.Close()
		if err != nil {
			t.Errorf("edge %v: Shutdown with a hijacked connection: %v; want nil", edge, err)
		}
	}
}

// TestH1ParityBaseContextCancel: the server's base context ending ends the context of the
// request being served, with net/http's server (BaseContext) as with the loop, whose
// requests' contexts are not registered with the connection's (an AfterFunc per
// connection cancels the request served).
func TestH1ParityBaseContextCancel(t *testing.T) {
	for _, edge := range []bool{false, true} {
		base, cancelBase := context.WithCancel(context.Background())
		arrived, report := make(chan struct{}), make(chan string, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			select {
			case <-r.Context().Done():
				report <- fmt.Sprint("ended: ", context.Cause(r.Context()))
			case <-time.After(10 * time.Second):
				report <- "not ended within 10 s"
			}
		})
		cfg := &tls.Config{Certificates: []tls.Certificate{cert(t, "h1.test")}, NextProtos: []string{"http/1.1"}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0),
			BaseContext: func(net.Listener) context.Context { return base }}
		if edge {
			loop := newH1Server(hs, tls.NewListener(ln, cfg), base)
			go hs.Serve(loop.queue)
			go loop.serve()
			t.Cleanup(func() { loop.shutdown(context.Background()) })
		} else {
			go hs.Serve(tls.NewListener(ln, cfg))
		}
		t.Cleanup(func() { hs.Close() })
		c := dialParity(t, ln.Addr().String())
		io.WriteString(c, rawReq("GET", "/", false))
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("edge %v: the handler did not run within 10 s", edge)
		}
		cancelBase()
		if got := awaitReport(t, report); got != "ended: context canceled" {
			t.Errorf("edge %v: the request's context %s", edge, got)
		}
		c.Close()
	}
}
