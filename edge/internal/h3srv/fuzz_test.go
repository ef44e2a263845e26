package h3srv

import (
	"bytes"
	"testing"

	"github.com/quic-go/qpack"
)

// requestFrames returns a HEADERS frame with the fields (name, value pairs), as a
// client sends it.
func requestFrames(fields ...string) []byte {
	var block bytes.Buffer
	enc := qpack.NewEncoder(&block)
	for i := 0; i+1 < len(fields); i += 2 {
		enc.WriteField(qpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return append(appendFrameHeader(nil, frameHeaders, uint64(block.Len())), block.Bytes()...)
}

// FuzzReadRequest: whatever a request stream starts with, reading its request returns a
// request or an error, never panics, and a request it returns is one a handler can use.
func FuzzReadRequest(f *testing.F) {
	f.Add(requestFrames(":method", "GET", ":scheme", "https", ":authority", "a.example", ":path", "/x?y=1",
		"user-agent", "fuzz", "cookie", "a=1", "cookie", "b=2"))
	f.Add(requestFrames(":method", "CONNECT", ":authority", "a.example:443"))
	f.Add(requestFrames(":method", "OPTIONS", ":scheme", "https", ":authority", "a", ":path", "*"))
	f.Add(append(appendFrameHeader(nil, 0x21, 2), 0, 0))
	f.Add([]byte{0x01, 0x03, 0x00, 0x00, 0xff})
	f.Add([]byte{0x01, 0x05, 0x00, 0x00, 0x5f, 0x1d, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		st := &stream{c: &conn{srv: &Server{MaxHeaderBytes: 4 << 10}}}
		st.fr.init(bytes.NewReader(data))
		defer st.fr.release()
		if err := st.readRequest(); err != nil {
			return
		}
		r := &st.head
		if r.Method == "" || r.URL == nil || r.Header == nil {
			t.Fatalf("request without method, URL or header: %+v", r)
		}
		if r.Method != "CONNECT" && (r.RequestURI == "" || r.Host == "") {
			t.Fatalf("request without :path or authority: %+v", r)
		}
		for k, vv := range r.Header {
			if len(vv) == 0 || k == "" {
				t.Fatalf("header %q: %q", k, vv)
			}
		}
	})
}
