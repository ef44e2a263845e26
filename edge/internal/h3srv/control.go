package h3srv

import (
	"fmt"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"
)

// varintLen is the encoded length of v as a QUIC varint (v < 2^62).
func varintLen(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<30:
		return 4
	}
	return 8
}

// appendVarint appends v as a QUIC varint in its shortest form (RFC 9000 section 16),
// without the allocation quicvarint.Append's escaping argument costs.
func appendVarint(b []byte, v uint64) []byte {
	switch varintLen(v) {
	case 1:
		return append(b, byte(v))
	case 2:
		return append(b, byte(v>>8)|0x40, byte(v))
	case 4:
		return append(b, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, byte(v>>56)|0xc0, byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// openControl opens the server's control stream and sends its SETTINGS: the largest
// request header section; no QPACK dynamic table (the defaults, not sent).
func (c *conn) openControl() error {
	str, err := c.qc.OpenUniStream()
	if err != nil {
		return err
	}
	var payload []byte
	payload = appendVarint(payload, settingMaxFieldSectionSize)
	payload = appendVarint(payload, uint64(c.srv.maxHeaderBytes()))
	b := appendVarint(nil, streamControl)
	b = appendFrameHeader(b, frameSettings, uint64(len(payload)))
	b = append(b, payload...)
	c.ctrl = str
	_, err = str.Write(b)
	return err
}

// acceptUni accepts the client's unidirectional streams until the connection ends.
func (c *conn) acceptUni() {
	for {
		str, err := c.qc.AcceptUniStream(c.qc.Context())
		if err != nil {
			return
		}
		str.ReleaseStreamCredit() // a few per connection: no use holding them (credit.go)
		go c.serveUni(str)
	}
}

// serveUni reads a unidirectional stream's type and serves it: the control stream, the
// QPACK streams (drained: no dynamic table), refusing push streams and duplicates, and
// aborting unknown types.
func (c *conn) serveUni(str *quic.ReceiveStream) {
	var fr frameReader
	fr.init(str)
	defer fr.release()
	typ, err := fr.varint()
	if err != nil {
		return
	}
	switch typ {
	case streamControl, streamQPACKEncoder, streamQPACKDecoder:
		if !c.firstUni(typ) {
			c.connError(codeStreamCreationError, fmt.Sprintf("second stream of type %#x", typ))
			return
		}
		switch typ {
		case streamControl:
			err = c.readControl(&fr)
		case streamQPACKEncoder:
			err = c.readQPACKEncoder(&fr)
		default:
			err = c.readQPACKDecoder(&fr)
		}
		c.criticalClosed(err)
	case streamPush:
		c.connError(codeStreamCreationError, "push stream from a client")
	default:
		str.CancelRead(codeStreamCreationError.stream())
	}
}

// firstUni records a critical stream of type typ; false if one was seen before.
func (c *conn) firstUni(typ uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uni[typ] {
		return false
	}
	c.uni[typ] = true
	return true
}

// criticalClosed is a control or QPACK stream's end: H3_CLOSED_CRITICAL_STREAM unless
// the connection ended first, or the reading stopped on a connection error already.
func (c *conn) criticalClosed(err error) {
	if c.qc.Context().Err() != nil {
		return
	}
	if _, ok := err.(connErr); ok {
		return
	}
	c.connError(codeClosedCriticalStream, "critical stream closed")
}

// maxSettingsLen bounds a SETTINGS frame's payload.
const maxSettingsLen = readBufSize

// readControl reads the client's control stream: SETTINGS first, then the frames a
// control stream may carry (GOAWAY, MAX_PUSH_ID, CANCEL_PUSH, PRIORITY_UPDATE, unknown
// ones), all of which the server ignores. It returns when the stream ends (an error).
func (c *conn) readControl(fr *frameReader) error {
	typ, length, err := fr.header()
	if err != nil {
		return c.controlEnd(err)
	}
	if typ != frameSettings {
		return c.connError(codeMissingSettings, "first frame on the control stream is not SETTINGS")
	}
	if length > maxSettingsLen {
		return c.connError(codeExcessiveLoad, "SETTINGS frame too large")
	}
	block, err := fr.block(int(length))
	if err != nil {
		return c.controlEnd(err)
	}
	if err := c.checkSettings(block); err != nil {
		return err
	}
	var ids controlIDs
	for {
		typ, length, err := fr.header()
		if err != nil {
			return c.controlEnd(err)
		}
		switch {
		case typ == frameSettings || typ == frameData || typ == frameHeaders || typ == framePushPromise || reservedH2Frame(typ):
			return c.connError(codeFrameUnexpected, fmt.Sprintf("frame type %#x on the control stream", typ))
		case typ == frameCancelPush:
			return c.connError(codeIDError, "CANCEL_PUSH: the server promised no push")
		case typ == frameGoAway || typ == frameMaxPushID:
			err = ids.check(c, fr, typ, length)
		default:
			err = fr.discard(length)
		}
		if err != nil {
			return c.controlEnd(err)
		}
	}
}

// controlEnd is the control stream's reading ending with err: a frame truncated by the
// stream's end is H3_FRAME_ERROR (RFC 9114 section 7.1); any other end is the caller's
// H3_CLOSED_CRITICAL_STREAM.
func (c *conn) controlEnd(err error) error {
	if err == errFrameTruncated {
		return c.connError(codeFrameError, "truncated frame on the control stream")
	}
	return err
}

// controlIDs are the identifiers the client's GOAWAY and MAX_PUSH_ID frames carried: a
// GOAWAY's may not increase, a MAX_PUSH_ID's may not decrease (RFC 9114 sections 5.2
// and 7.2.7).
type controlIDs struct {
	goAway, maxPush       uint64
	sawGoAway, sawMaxPush bool
}

// check reads a GOAWAY or MAX_PUSH_ID frame's identifier and checks its order.
func (ids *controlIDs) check(c *conn, fr *frameReader, typ, length uint64) error {
	b, err := fr.block(int(min(length, readBufSize)))
	if err != nil {
		return err
	}
	id, n, perr := quicvarint.Parse(b)
	if perr != nil || uint64(n) != length {
		return c.connError(codeFrameError, fmt.Sprintf("malformed frame of type %#x", typ))
	}
	if typ == frameGoAway {
		if ids.sawGoAway && id > ids.goAway {
			return c.connError(codeIDError, "GOAWAY identifier increased")
		}
		ids.goAway, ids.sawGoAway = id, true
		return nil
	}
	if ids.sawMaxPush && id < ids.maxPush {
		return c.connError(codeIDError, "MAX_PUSH_ID decreased")
	}
	ids.maxPush, ids.sawMaxPush = id, true
	return nil
}

// checkSettings checks a SETTINGS payload: well-formed, no identifier twice, none of
// HTTP/2's (RFC 9114 section 7.2.4.1). The values themselves do not change what the
// server sends: it uses no dynamic table and sends no push.
func (c *conn) checkSettings(b []byte) error {
	seen := map[uint64]bool{}
	for len(b) > 0 {
		id, n, err := quicvarint.Parse(b)
		if err != nil {
			return c.connError(codeFrameError, "malformed SETTINGS")
		}
		b = b[n:]
		_, n, err = quicvarint.Parse(b)
		if err != nil {
			return c.connError(codeFrameError, "malformed SETTINGS")
		}
		b = b[n:]
		if seen[id] || (id >= 0x02 && id <= 0x05) {
			return c.connError(codeSettingsError, fmt.Sprintf("SETTINGS identifier %#x", id))
		}
		seen[id] = true
	}
	return nil
}
