package h3srv

import "fmt"

// QPACK's stream error codes (RFC 9204 section 6).
const (
	codeQPACKEncoderStreamError errCode = 0x201
	codeQPACKDecoderStreamError errCode = 0x202
)

// readQPACKEncoder reads the client's QPACK encoder stream. The server's dynamic table
// capacity is zero (it sends no SETTINGS_QPACK_MAX_TABLE_CAPACITY), so the only valid
// instruction is Set Dynamic Table Capacity with 0 (RFC 9204 section 4.3.1); any other
// is QPACK_ENCODER_STREAM_ERROR. It returns when the stream ends (an error).
func (c *conn) readQPACKEncoder(fr *frameReader) error {
	for {
		if fr.pos == fr.end {
			if err := fr.fill(); err != nil {
				return err
			}
		}
		b := fr.buf[fr.pos]
		if b&0xe0 != 0x20 || b&0x1f != 0 { // not Set Dynamic Table Capacity 0 in one byte
			return c.connError(codeQPACKEncoderStreamError, fmt.Sprintf("encoder instruction %#x with a zero-capacity table", b))
		}
		fr.pos++
	}
}

// readQPACKDecoder reads the client's QPACK decoder stream. The server inserts nothing
// into a dynamic table and sends no field section that references one, so Section
// Acknowledgment and Insert Count Increment are QPACK_DECODER_STREAM_ERROR (RFC 9204
// sections 4.4.1 and 4.4.3); Stream Cancellation is accepted. It returns when the stream
// ends (an error).
func (c *conn) readQPACKDecoder(fr *frameReader) error {
	for {
		if fr.pos == fr.end {
			if err := fr.fill(); err != nil {
				return err
			}
		}
		b := fr.buf[fr.pos]
		if b&0xc0 != 0x40 {
			return c.connError(codeQPACKDecoderStreamError, fmt.Sprintf("decoder instruction %#x without a dynamic table", b))
		}
		if err := skipPrefixInt(fr, 6); err != nil {
			return err
		}
	}
}

// skipPrefixInt consumes an integer with an n-bit prefix (a Stream Cancellation's).
func skipPrefixInt(fr *frameReader, n uint) error {
	first := true
	for {
		if fr.pos == fr.end {
			if err := fr.fill(); err != nil {
				return err
			}
		}
		b := fr.buf[fr.pos]
		fr.pos++
		if first {
			first = false
			if uint64(b)&(1<<n-1) < 1<<n-1 {
				return nil
			}
			continue
		}
		if b&0x80 == 0 {
			return nil
		}
	}
}
