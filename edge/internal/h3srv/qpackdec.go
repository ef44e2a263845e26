package h3srv

import (
	"errors"
	"sync"

	"github.com/quic-go/qpack"
	"golang.org/x/net/http2/hpack"
)

// A field section is decoded here rather than with qpack.Decoder, which makes a string
// per name and value: literal names and values are decoded into one buffer and made one
// string, which the fields then slice; static table entries are the table's own strings.
// Only the static table is supported, as the server advertises no dynamic table: any
// reference to the dynamic table is a decoding error (RFC 9204 section 2.2.3).

// field is a decoded field line.
type field struct{ name, value string }

// Errors of decodeFields; all are QPACK_DECOMPRESSION_FAILED.
var (
	errQPACKDynamic   = errors.New("reference to the dynamic table")
	errQPACKTruncated = errors.New("truncated field section")
	errQPACKInteger   = errors.New("integer overflow")
	errQPACKIndex     = errors.New("static table index out of range")
)

// staticTable is QPACK's static table (RFC 9204 appendix A), read from the qpack package
// by decoding one indexed field line per entry.
var staticTable = func() []field {
	var t []field
	d := qpack.NewDecoder()
	for i := uint64(0); ; i++ {
		line := appendPrefixInt([]byte{0, 0}, 6, 0xc0, i)
		hf, err := d.Decode(line)()
		if err != nil {
			return t
		}
		t = append(t, field{hf.Name, hf.Value})
	}
}()

// appendPrefixInt appends i as an integer with an n-bit prefix (RFC 7541 section 5.1),
// the first byte's other bits set to flags.
func appendPrefixInt(b []byte, n uint, flags byte, i uint64) []byte {
	max := uint64(1)<<n - 1
	if i < max {
		return append(b, flags|byte(i))
	}
	b = append(b, flags|byte(max))
	for i -= max; i >= 128; i >>= 7 {
		b = append(b, byte(i&127|128))
	}
	return append(b, byte(i))
}

// prefixInt reads an integer with an n-bit prefix from p.
func prefixInt(p []byte, n uint) (uint64, []byte, error) {
	if len(p) == 0 {
		return 0, nil, errQPACKTruncated
	}
	max := uint64(1)<<n - 1
	i := uint64(p[0]) & max
	p = p[1:]
	if i < max {
		return i, p, nil
	}
	for m := uint(0); len(p) > 0; m += 7 {
		if m > 56 {
			return 0, nil, errQPACKInteger
		}
		b := p[0]
		p = p[1:]
		i += uint64(b&127) << m
		if b&128 == 0 {
			return i, p, nil
		}
	}
	return 0, nil, errQPACKTruncated
}

// fieldDecoder decodes field sections; pooled.
type fieldDecoder struct {
	cache  *huffCache // the connection's, or nil
	fields []field
	lits   []struct{ field, nameEnd, valEnd int } // literal parts: offsets into text
	text   appendWriter                           // the literal names and values
}

// fieldDecoders recycles decoders.
var fieldDecoders = sync.Pool{New: func() any { return new(fieldDecoder) }}

// decodeSection decodes a field section into a pooled decoder's fields (release it
// after use); a section whose decoded size (RFC 9114 section 4.2.2) exceeds limit stops
// with errHeaderTooLarge. Decoding errors are *qpackError.
func decodeSection(block []byte, limit int, cache *huffCache) (*fieldDecoder, error) {
	d := fieldDecoders.Get().(*fieldDecoder)
	d.cache = cache
	if err := d.decode(block, limit); err != nil {
		d.release()
		return nil, err
	}
	return d, nil
}

// release returns d to the pool, unless a large section made its buffers large.
func (d *fieldDecoder) release() {
	if cap(d.text.b) > 64<<10 || cap(d.fields) > 1024 {
		return
	}
	clear(d.fields)
	d.fields, d.lits, d.text.b, d.cache = d.fields[:0], d.lits[:0], d.text.b[:0], nil
	fieldDecoders.Put(d)
}

// decode fills d.fields from block.
func (d *fieldDecoder) decode(block []byte, limit int) error {
	p, err := sectionPrefix(block)
	if err != nil {
		return &qpackError{err}
	}
	size := 0
	for len(p) > 0 {
		var f field
		var lit bool
		if f, lit, p, err = d.line(p); err != nil {
			return &qpackError{err}
		}
		if !lit {
			size += len(f.name) + len(f.value) + fieldOverhead
		} else {
			l := d.lits[len(d.lits)-1]
			size += l.valEnd - l.field + fieldOverhead
		}
		if size > limit {
			return errHeaderTooLarge
		}
		d.fields = append(d.fields, f)
	}
	d.resolve()
	return nil
}

// sectionPrefix checks the encoded field section prefix: Required Insert Count and Delta
// Base must be zero without a dynamic table.
func sectionPrefix(p []byte) ([]byte, error) {
	ric, p, err := prefixInt(p, 8)
	if err != nil {
		return nil, err
	}
	if ric != 0 {
		return nil, errQPACKDynamic
	}
	base, p, err := prefixInt(p, 7)
	if err != nil {
		return nil, err
	}
	if base != 0 {
		return nil, errQPACKDynamic
	}
	return p, nil
}

// line decodes one field line. A literal part is decoded into d.text and recorded in
// d.lits (lit true): the field's strings are set by resolve.
func (d *fieldDecoder) line(p []byte) (f field, lit bool, rest []byte, err error) {
	b := p[0]
	switch {
	case b&0x80 != 0: // indexed field line
		if b&0x40 == 0 {
			return f, false, nil, errQPACKDynamic
		}
		f, rest, err = staticEntry(p, 6)
		return f, false, rest, err
	case b&0xc0 == 0x40: // literal field line with name reference
		if b&0x10 == 0 {
			return f, false, nil, errQPACKDynamic
		}
		if f, rest, err = staticEntry(p, 4); err != nil {
			return f, false, nil, err
		}
		start := len(d.text.b)
		d.text.b = append(d.text.b, f.name...)
		nameEnd := len(d.text.b)
		if rest, err = d.literal(rest, 7); err != nil {
			return f, false, nil, err
		}
		d.lits = append(d.lits, struct{ field, nameEnd, valEnd int }{start, nameEnd, len(d.text.b)})
		return field{}, true, rest, nil
	case b&0xe0 == 0x20: // literal field line with literal name
		start := len(d.text.b)
		if rest, err = d.literal(p, 3); err != nil {
			return f, false, nil, err
		}
		nameEnd := len(d.text.b)
		if rest, err = d.literal(rest, 7); err != nil {
			return f, false, nil, err
		}
		d.lits = append(d.lits, struct{ field, nameEnd, valEnd int }{start, nameEnd, len(d.text.b)})
		return f, true, rest, nil
	}
	return f, false, nil, errQPACKDynamic // post-base forms reference the dynamic table
}

// staticEntry reads a static table index with an n-bit prefix.
func staticEntry(p []byte, n uint) (field, []byte, error) {
	i, rest, err := prefixInt(p, n)
	if err != nil {
		return field{}, nil, err
	}
	if i >= uint64(len(staticTable)) {
		return field{}, nil, errQPACKIndex
	}
	return staticTable[i], rest, nil
}

// literal decodes a string literal whose length has an n-bit prefix (Huffman flag the
// bit above it) into d.text.
func (d *fieldDecoder) literal(p []byte, n uint) ([]byte, error) {
	if len(p) == 0 {
		return nil, errQPACKTruncated
	}
	huff := p[0]&(1<<n) != 0
	l, p, err := prefixInt(p, n)
	if err != nil {
		return nil, err
	}
	if uint64(len(p)) < l {
		return nil, errQPACKTruncated
	}
	s := p[:l]
	switch v, hit := d.cache.get(s); {
	case !huff:
		d.text.b = append(d.text.b, s...)
	case hit:
		d.text.b = append(d.text.b, v...)
	default:
		start := len(d.text.b)
		if _, err := hpack.HuffmanDecode(&d.text, s); err != nil {
			return nil, err
		}
		d.cache.put(s, d.text.b[start:])
	}
	return p[l:], nil
}

// resolve makes d.text one string and points the literal fields into it.
func (d *fieldDecoder) resolve() {
	if len(d.lits) == 0 {
		return
	}
	text := string(d.text.b)
	j := 0
	for i := range d.fields {
		if d.fields[i].name != "" {
			continue
		}
		l := d.lits[j]
		j++
		d.fields[i] = field{name: text[l.field:l.nameEnd], value: text[l.nameEnd:l.valEnd]}
	}
}

// appendWriter is an io.Writer appending to its slice (hpack.HuffmanDecode's output).
type appendWriter struct{ b []byte }

// Write implements io.Writer.
func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}
