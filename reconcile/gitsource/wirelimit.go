package gitsource

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	gitproto "github.com/go-git/go-git/v5/plumbing/transport/git"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// ErrReplyTooLarge is returned (wrapped) when a git server sends more before the pack than a
// poll may read (Options.MaxRefBytes: the reference advertisement and capabilities, the
// shallow and ACK lines) or advertises more references than Options.MaxRefs. The poll
// fails there, and the Source keeps its revision.
var ErrReplyTooLarge = errors.New("reconcile: git server reply too large")

const (
	// DefaultMaxRefBytes is Options.MaxRefBytes when left zero: 16 MiB, about 200,000
	// references.
	DefaultMaxRefBytes = 16 << 20
	// DefaultMaxRefs is Options.MaxRefs when left zero.
	DefaultMaxRefs = 100_000
	// maxErrorBody is what is read of an HTTP error reply's body, which go-git quotes in
	// its error.
	maxErrorBody = 1 << 10
)

// wireLimit bounds what one poll reads from a server, counted as it is read: maxBytes
// before the pack, once the pack starts (allowPack) what the pack may take on the wire
// too; and over HTTP(S) and git:// the pkt-lines of each reference advertisement, maxRefs.
// The Source resets it at each poll (s.mu held); its transport's reads draw from it:
// HTTP(S) response bodies, the SSH connection (wirelimit_ssh.go), the git:// connection
// (wirelimit_git.go).
type wireLimit struct {
	maxBytes int64
	maxRefs  int
	framing  func(n int64) int64 // nil, or what the transport adds to n bytes of git's

	mu   sync.Mutex
	left int64 // bytes the poll may still read
	pack int64 // the bytes allowPack added: the pack's share
	err  error // the limit passed, once
}

// start begins a poll.
func (w *wireLimit) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.left, w.pack, w.err = w.maxBytes+w.frame(w.maxBytes), 0, nil
}

// frame is the transport's allowance for its own framing of n bytes.
func (w *wireLimit) frame(n int64) int64 {
	if w.framing == nil {
		return 0
	}
	return w.framing(n)
}

// allowPack lets the poll read n bytes more: a pack's, on the wire.
func (w *wireLimit) allowPack(n int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n += w.frame(n)
	w.left += n
	w.pack += n
}

// tripped returns the error of the limit the poll passed, or nil.
func (w *wireLimit) tripped() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// take counts n bytes read; it returns how many of them may be used and, once the limit is
// passed, its error.
func (w *wireLimit) take(n int) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if int64(n) > w.left {
		n = int(w.left)
	}
	w.left -= int64(n)
	if n == 0 {
		w.err = w.overErr()
		return 0, w.err
	}
	return n, nil
}

// room returns how many bytes the poll may still read (at least 1, so that passing the
// limit is noticed by the read after the last allowed byte).
func (w *wireLimit) room() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(w.left, 1)
}

// overErr is the error of reading past the byte limit (w.mu held).
func (w *wireLimit) overErr() error {
	if w.pack > 0 {
		return fmt.Errorf("%w: more than the %d bytes a fetch may receive on the wire (MaxPackBytes with its side-band framing, and MaxRefBytes)", ErrPackTooLarge, w.pack+w.maxBytes+w.frame(w.maxBytes))
	}
	return fmt.Errorf("%w: more than the %d bytes a poll may read before the pack (MaxRefBytes: references, capabilities, shallow and ACK lines)", ErrReplyTooLarge, w.maxBytes)
}

// tooManyRefs fails the poll for an advertisement past maxRefs.
func (w *wireLimit) tooManyRefs() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = refsErr(w.maxRefs)
	}
	return w.err
}

// refsErr is the error of an advertisement of more than max references.
func refsErr(max int) error {
	return fmt.Errorf("%w: more than %d references advertised (MaxRefs)", ErrReplyTooLarge, max)
}

// packWireBytes is what a pack of max bytes may take on the wire: its side-band framing (5
// bytes per packet of at most 65,515), and 64 KiB for the rest.
func packWireBytes(max int64) int64 { return max + max/65515*5 + 5 + 64<<10 }

// limitedTransport is the http.RoundTripper of a Source's HTTP(S) client: each response
// body draws from w; an error reply's body is cut at maxErrorBody (go-git quotes it).
type limitedTransport struct {
	base http.RoundTripper
	w    *wireLimit
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err != nil || res.Body == nil {
		return res, err
	}
	b := &limitedBody{rc: res.Body, w: t.w}
	switch {
	case res.StatusCode < 200 || res.StatusCode >= 300:
		b.cut = maxErrorBody
	case req.Method == http.MethodGet:
		b.refs = &pktCounter{max: t.w.maxRefs + 2} // the "# service" line and a capability line
	}
	res.Body = b
	return res, nil
}

// limitedBody is a response body drawing from a wireLimit.
type limitedBody struct {
	rc   io.ReadCloser
	w    *wireLimit
	cut  int64       // > 0: read no more than this, then io.EOF (an error reply)
	refs *pktCounter // a reference advertisement: its pkt-lines are counted
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.cut > 0 && int64(len(p)) > b.cut {
		p = p[:b.cut]
	}
	if room := b.w.room(); int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.rc.Read(p)
	if n > 0 {
		if m, terr := b.w.take(n); terr != nil {
			return m, terr
		}
		if b.cut > 0 {
			if b.cut -= int64(n); b.cut == 0 {
				return n, io.EOF
			}
		}
		if b.refs != nil && !b.refs.feed(p[:n]) {
			return 0, b.w.tooManyRefs()
		}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// pktCounter counts the pkt-lines of a stream as it passes, failing past max.
type pktCounter struct {
	max   int
	lines int
	hdr   [4]byte
	nhdr  int // bytes of hdr read
	skip  int // payload bytes still to pass
}

// feed counts the pkt-lines starting in p; false once there are more than max.
func (c *pktCounter) feed(p []byte) bool {
	for len(p) > 0 {
		if c.skip > 0 {
			k := min(c.skip, len(p))
			c.skip -= k
			p = p[k:]
			continue
		}
		k := copy(c.hdr[c.nhdr:], p)
		c.nhdr += k
		p = p[k:]
		if c.nhdr < len(c.hdr) {
			return true
		}
		c.nhdr = 0
		n, ok := pktLen(c.hdr)
		if !ok {
			return true // not pkt-lines: go-git's decoder says so
		}
		if n > 4 {
			c.skip = n - 4
			if c.lines++; c.lines > c.max {
				return false
			}
		}
	}
	return true
}

// pktLen parses a pkt-line's length header.
func pktLen(h [4]byte) (int, bool) {
	n := 0
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// newTransport returns the git client for ep and the wireLimit bounding what it reads, or
// a nil wireLimit where the client's replies cannot be bounded as they are read. HTTP(S)
// through go-git's default client are (a client of our own, over http.DefaultTransport,
// with the same redirect policy), and so is SSH through go-git's default client (its
// connection dialed through a dialer of ours, limitedSSH; the stream is encrypted, so its
// references are counted once decoded, Source.advertised), and git:// (a client of our
// own, limitedGit: go-git's has no hook). Local paths are not (go-git runs git-upload-pack
// in unexported code; the repository is the agent host's own): they are bounded by the
// count of references once decoded and by Options.Timeout.
func newTransport(ep *transport.Endpoint, maxBytes int64, maxRefs int) (transport.Transport, *wireLimit, error) {
	switch ep.Protocol {
	case "http", "https":
		if client.Protocols[ep.Protocol] == githttp.DefaultClient {
			w := &wireLimit{maxBytes: maxBytes, maxRefs: maxRefs, left: maxBytes}
			return githttp.NewClient(&http.Client{Transport: &limitedTransport{base: http.DefaultTransport, w: w}}), w, nil
		}
	case "ssh":
		if base := client.Protocols[ep.Protocol]; base == gitssh.DefaultClient && ep.Proxy.URL == "" {
			w := &wireLimit{maxBytes: maxBytes, maxRefs: maxRefs, framing: sshFraming}
			w.start()
			return &limitedSSH{base: base, w: w}, w, nil
		}
	case "git":
		if client.Protocols[ep.Protocol] == gitproto.DefaultClient {
			w := &wireLimit{maxBytes: maxBytes, maxRefs: maxRefs, left: maxBytes}
			return &limitedGit{w: w}, w, nil
		}
	}
	cl, err := client.NewClient(ep)
	return cl, nil, err
}
