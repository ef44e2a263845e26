package proxy

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/edgectl/edge/edge/site"
)

func TestWebSocketEcho(t *testing.T) {
	b := newBackend(t, websocket.Handler(func(c *websocket.Conn) {
		var msg string
		for websocket.Message.Receive(c, &msg) == nil {
			if websocket.Message.Send(c, "echo "+msg) != nil {
				return
			}
		}
	}).ServeHTTP)
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}, Timeouts: site.Timeouts{Response: time.Second}})
	fe := front(t, h)

	ws, err := websocket.Dial(strings.Replace(fe.URL, "http", "ws", 1)+"/ws", "", fe.URL)
	if err != nil {
		t.Fatalf("websocket handshake through the proxy: %v", err)
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(5 * time.Second))
	for i := range 3 {
		// The second message is sent after the response timeout: the upgraded stream is
		// not bounded by it.
		if i == 1 {
			time.Sleep(1100 * time.Millisecond)
		}
		want := fmt.Sprintf("hello %d", i)
		if err := websocket.Message.Send(ws, want); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := websocket.Message.Receive(ws, &got); err != nil {
			t.Fatal(err)
		}
		if got != "echo "+want {
			t.Fatalf("got %q; want %q", got, "echo "+want)
		}
	}
	if n := h.targets[0].up.inflight.Load(); n != 1 {
		t.Errorf("open websocket counts %d in flight; want 1", n)
	}
}

func TestSSEStreamsBeforeEnd(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select { // hold the stream open until the client saw the first event
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: second\n\n")
	})
	m := newManager(t, Options{})
	fe := front(t, mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}}))
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(fe.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	line, err := r.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q, %v; want it while the upstream holds the stream open", line, err)
	}
	close(release)
	rest := new(strings.Builder)
	if _, err := bufio.NewReader(r).WriteTo(rest); err != nil {
		t.Fatal(err)
	}
	if rest.String() != "\ndata: second\n\n" {
		t.Errorf("rest of stream %q", rest.String())
	}
}
