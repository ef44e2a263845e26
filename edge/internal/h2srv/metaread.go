package h2srv

import (
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2/hpack"
)

// edge: a request's header block decoded with one allocation (README.md, "Changes").
//
// Upstream, readMetaFrame keeps its decoding state in variables captured by a closure
// it gives the HPACK decoder as its emit function: the closure and four of the variables
// escape, and so do the MetaHeadersFrame and its Fields, seven allocations per request.
// Here the state is the Framer's (metaRead: a Framer reads one frame at a time), the emit
// function is bound once per Framer, and the frame and room for its first metaFieldsCap
// fields are one allocation (metaFrame). The checks are upstream's, in the same order.

// metaRead is the state of the header block readMetaFrame is decoding.
type metaRead struct {
	mh                 *MetaHeadersFrame
	headersRemainSize  uint32
	trailersRemainSize uint32
	sawRegular         bool
	invalid            error // pseudo header field errors
}

// metaFrame is a MetaHeadersFrame with room for its first fields.
type metaFrame struct {
	mh     MetaHeadersFrame
	fields [metaFieldsCap]hpack.HeaderField
}

// startMetaRead starts decoding the header block of hf: it returns the Framer's state,
// reset, with a new MetaHeadersFrame. The emit function is bound on the first call.
func (fr *Framer) startMetaRead(hf *HeadersFrame) *metaRead {
	if fr.metaEmit == nil {
		fr.metaEmit = fr.emitMetaField
	}
	f := &metaFrame{}
	f.mh.HeadersFrame = hf
	f.mh.Fields = f.fields[:0]
	fr.meta = metaRead{mh: &f.mh, headersRemainSize: fr.maxHeaderListSize(), trailersRemainSize: fr.maxHeaderListSize()}
	return &fr.meta
}

// endMetaRead drops the Framer's reference to the frame decoded last, and gives the
// decoder a function that keeps nothing.
func (fr *Framer) endMetaRead() {
	fr.meta = metaRead{}
	fr.ReadMetaHeaders.SetEmitFunc(discardField)
}

// discardField is the HPACK decoder's emit function outside readMetaFrame.
func discardField(hpack.HeaderField) {}

// emitMetaField is the HPACK decoder's emit function while readMetaFrame decodes: the
// body of upstream's closure, on fr.meta.
func (fr *Framer) emitMetaField(hf hpack.HeaderField) {
	m, hdec := &fr.meta, fr.ReadMetaHeaders
	if VerboseLogs && fr.logReads {
		fr.debugReadLoggerf("http2: decoded hpack field %+v", hf)
	}
	if !httpguts.ValidHeaderFieldValue(hf.Value) {
		// Don't include the value in the error, because it may be sensitive.
		m.invalid = headerFieldValueError(hf.Name)
	}
	isPseudo := strings.HasPrefix(hf.Name, ":")
	if isPseudo {
		if m.sawRegular {
			m.invalid = errPseudoAfterRegular
		}
	} else {
		m.sawRegular = true
		if !validWireHeaderFieldName(hf.Name) {
			m.invalid = headerFieldNameError(hf.Name)
		}
	}

	if m.invalid != nil {
		hdec.SetEmitEnabled(false)
		return
	}

	var remainSize *uint32
	var size uint32
	if hf.Name == "trailer" {
		remainSize = &m.trailersRemainSize
		fieldCount := strings.Count(hf.Value, ",") + 1
		// Rather than actually constructing hpack.HeaderField for each
		// trailer field and cumulatively adding its Size, just do the math
		// manually to avoid unnecessary work. This does make it so
		// whitespaces after comma are counted against the budget, but that
		// should be innocuous.
		size = uint32(len(hf.Value)-fieldCount+1) + uint32(fieldCount)*hpack.HeaderField{}.Size()
	} else {
		remainSize = &m.headersRemainSize
		size = hf.Size()
	}
	if size > *remainSize {
		hdec.SetEmitEnabled(false)
		m.mh.Truncated = true
		m.headersRemainSize = 0
		m.trailersRemainSize = 0
		return
	}
	*remainSize -= size

	m.mh.Fields = append(m.mh.Fields, hf)
}
