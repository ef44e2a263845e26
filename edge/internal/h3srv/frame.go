package h3srv

import (
	"github.com/quic-go/quic-go"
)

// HTTP/3 frame types (RFC 9114 section 7.2).
const (
	frameData        = 0x0
	frameHeaders     = 0x1
	frameCancelPush  = 0x3
	frameSettings    = 0x4
	framePushPromise = 0x5
	frameGoAway      = 0x7
	frameMaxPushID   = 0xd
)

// PRIORITY_UPDATE frames (RFC 9218 section 7.2), for request and push streams.
const (
	framePriorityUpdate     = 0xf0700
	framePriorityUpdatePush = 0xf0701
)

// Unidirectional stream types (RFC 9114 section 6.2, RFC 9204 section 4.2).
const (
	streamControl      = 0x00
	streamPush         = 0x01
	streamQPACKEncoder = 0x02
	streamQPACKDecoder = 0x03
)

// Settings identifiers (RFC 9114 section 7.2.4.1, RFC 9204 section 5).
const (
	settingQPACKMaxTableCapacity = 0x01
	settingMaxFieldSectionSize   = 0x06
	settingQPACKBlockedStreams   = 0x07
)

// errCode is an HTTP/3 error code (RFC 9114 section 8.1, RFC 9204 section 6).
type errCode uint64

// The error codes used here.
const (
	codeNoError               errCode = 0x100
	codeGeneralProtocolError  errCode = 0x101
	codeInternalError         errCode = 0x102
	codeStreamCreationError   errCode = 0x103
	codeClosedCriticalStream  errCode = 0x104
	codeFrameUnexpected       errCode = 0x105
	codeFrameError            errCode = 0x106
	codeExcessiveLoad         errCode = 0x107
	codeIDError               errCode = 0x108
	codeSettingsError         errCode = 0x109
	codeMissingSettings       errCode = 0x10a
	codeRequestRejected       errCode = 0x10b
	codeRequestCancelled      errCode = 0x10c
	codeRequestIncomplete     errCode = 0x10d
	codeMessageError          errCode = 0x10e
	codeQPACKDecompressFailed errCode = 0x200
)

// stream returns c as a stream error code.
func (c errCode) stream() quic.StreamErrorCode { return quic.StreamErrorCode(c) }

// app returns c as a connection error code.
func (c errCode) app() quic.ApplicationErrorCode { return quic.ApplicationErrorCode(c) }

// reservedH2Frame reports whether t is a frame type of HTTP/2 that HTTP/3 reserves: its
// receipt is a connection error H3_FRAME_UNEXPECTED (RFC 9114 section 7.2.8).
func reservedH2Frame(t uint64) bool { return t == 0x2 || t == 0x6 || t == 0x8 || t == 0x9 }

// knownFrame reports whether t is a frame type HTTP/3 defines or reserves (not one to
// ignore as unknown).
func knownFrame(t uint64) bool {
	return t == frameData || t == frameHeaders || notOnRequestStream(t)
}

// notOnRequestStream reports whether a frame of type t on a request stream is a
// connection error H3_FRAME_UNEXPECTED wherever it comes.
func notOnRequestStream(t uint64) bool {
	return t == framePushPromise || controlOnlyFrame(t) || reservedH2Frame(t)
}

// controlOnlyFrame reports whether t may only appear on a control stream.
func controlOnlyFrame(t uint64) bool {
	return t == frameCancelPush || t == frameSettings || t == frameGoAway || t == frameMaxPushID ||
		t == framePriorityUpdate || t == framePriorityUpdatePush // RFC 9218 section 7.2
}

// appendFrameHeader appends a frame's type and length.
func appendFrameHeader(b []byte, typ, length uint64) []byte {
	return appendVarint(appendVarint(b, typ), length)
}

// maxFrameHeaderLen is the longest frame header: two 8-byte varints.
const maxFrameHeaderLen = 16
