package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/utils/ioutil"
)

// git:// bounds: go-git's git:// client dials and reads in unexported code (its runner
// calls net.Dial, and the session is internal), with no hook for the connection. A
// Source's git:// client is limitedGit, an upload-pack client of its own over go-git's
// exported protocol types (packp), doing what go-git's does (the git protocol request,
// the advertisement, the request, haves and done, the response), on a connection whose
// reads draw from the Source's wireLimit. Its stream is pkt-lines, so the references of
// the advertisement are counted as they are read, as over HTTP.

// gitDefaultPort is the git:// port.
const gitDefaultPort = 9418

// limitedGit is the git:// client of a Source.
type limitedGit struct{ w *wireLimit }

func (t *limitedGit) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	if auth != nil {
		return nil, transport.ErrInvalidAuthMethod
	}
	port := ep.Port
	if port <= 0 {
		port = gitDefaultPort
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(port))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	host := ep.Host
	if port != gitDefaultPort {
		host = addr
	}
	req := packp.GitProtoRequest{RequestCommand: transport.UploadPackServiceName, Pathname: ep.Path, Host: host}
	if err := req.Encode(c); err != nil {
		_ = c.Close()
		return nil, err
	}
	return &gitSession{conn: c, r: &limitedBody{rc: c, w: t.w, refs: &pktCounter{max: t.w.maxRefs + 1}}}, nil
}

func (t *limitedGit) NewReceivePackSession(*transport.Endpoint, transport.AuthMethod) (transport.ReceivePackSession, error) {
	return nil, errors.New("reconcile: git://: receive-pack is not supported")
}

// gitSession is an upload-pack session over git://.
type gitSession struct {
	conn    net.Conn
	r       *limitedBody // conn's reads; counts the advertisement's pkt-lines until the request
	adv     *packp.AdvRefs
	packRun bool
	done    bool
}

func (s *gitSession) AdvertisedReferences() (*packp.AdvRefs, error) {
	return s.AdvertisedReferencesContext(context.Background())
}

func (s *gitSession) AdvertisedReferencesContext(ctx context.Context) (*packp.AdvRefs, error) {
	if s.adv != nil {
		return s.adv, nil
	}
	ar := packp.NewAdvRefs()
	if err := ar.Decode(s.reader(ctx)); err != nil {
		if err := s.advErr(err); err != nil {
			return nil, err
		}
	}
	if ar.IsEmpty() {
		return nil, transport.ErrEmptyRemoteRepository
	}
	transport.FilterUnsupportedCapabilities(ar.Capabilities)
	s.adv = ar
	return ar, nil
}

// advErr maps an error decoding the advertisement as go-git's client does.
func (s *gitSession) advErr(err error) error {
	var line *pktline.ErrorLine
	var data *packp.ErrUnexpectedData
	switch {
	case errors.As(err, &line):
		if gitNotFound(line.Text) {
			return transport.ErrRepositoryNotFound
		}
		return line
	case errors.Is(err, packp.ErrEmptyInput):
		s.done = true
		return io.ErrUnexpectedEOF
	case errors.Is(err, packp.ErrEmptyAdvRefs):
		if err := s.finish(); err != nil {
			return err
		}
		return transport.ErrEmptyRemoteRepository
	case errors.As(err, &data) && gitNotFound(string(data.Data)):
		return transport.ErrRepositoryNotFound
	}
	return err
}

// gitNotFound tells a git daemon's "no such repository" replies.
func gitNotFound(s string) bool {
	for _, m := range []string{"Repository not found.", "no such repository", "access denied", "does not appear to be a git repository"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func (s *gitSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	if req.IsEmpty() {
		if err := s.finish(); err != nil {
			return nil, err
		}
		return nil, transport.ErrEmptyUploadPackRequest
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.AdvertisedReferencesContext(ctx); err != nil {
		return nil, err
	}
	s.packRun = true
	s.r.refs = nil // the advertisement is over
	if err := s.request(ctx, req); err != nil {
		return nil, err
	}
	r, err := ioutil.NonEmptyReader(s.reader(ctx))
	if err == ioutil.ErrEmptyReader {
		_ = s.conn.Close()
		return nil, transport.ErrEmptyUploadPackRequest
	}
	if err != nil {
		return nil, err
	}
	res := packp.NewUploadPackResponse(req)
	if err := res.Decode(ioutil.NewReadCloser(r, s)); err != nil {
		return nil, fmt.Errorf("error decoding upload-pack response: %w", err)
	}
	return res, nil
}

// request sends the upload-pack request, its haves and done.
func (s *gitSession) request(ctx context.Context, req *packp.UploadPackRequest) error {
	w := ioutil.NewWriterOnError(ioutil.NewContextWriter(ctx, s.conn), s.onError)
	if err := req.UploadRequest.Encode(w); err != nil {
		return fmt.Errorf("sending upload-req message: %w", err)
	}
	if err := req.UploadHaves.Encode(w, true); err != nil {
		return fmt.Errorf("sending haves message: %w", err)
	}
	if err := pktline.NewEncoder(w).Encodef("done\n"); err != nil {
		return fmt.Errorf("sending done message: %w", err)
	}
	return nil
}

// reader is the session's connection read under ctx; an error closes the session.
func (s *gitSession) reader(ctx context.Context) io.Reader {
	return ioutil.NewReaderOnError(ioutil.NewContextReader(ctx, s.r), s.onError)
}

func (s *gitSession) onError(error) { _ = s.Close() }

// finish ends a session that ran no upload-pack with a flush, as git does.
func (s *gitSession) finish() error {
	if s.done {
		return nil
	}
	s.done = true
	if !s.packRun {
		_, err := s.conn.Write(pktline.FlushPkt)
		return err
	}
	return nil
}

func (s *gitSession) Close() error {
	err := s.finish()
	if cerr := s.conn.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
		err = cerr
	}
	return err
}
