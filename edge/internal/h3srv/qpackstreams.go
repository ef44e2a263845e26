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
		b, err := fr.readByte()
		if err != nil {
			return err
		}
		if b != 0x20 { // Set Dynamic Table Capacity 0, in one byte
			return c.connError(codeQPACKEncoderStreamError, fmt.Sprintf("encoder instruction %#x with a zero-capacity table", b))
		}
	}
}

// readQPACKDecoder reads the client's QPACK decoder stream. The server inserts nothing
// into a dynamic table and sends no field section that references one, so Section
// Acknowledgment and Insert Count Increment are QPACK_DECODER_STREAM_ERROR (RFC 9204
// sections 4.4.1 and 4.4.3); Stream Cancellation is accepted. It returns when the stream
// ends (an error).
func (c *conn) readQPACKDecoder(fr *frameReader) error {
	for {
		b, err := fr.readByte()
		if err != nil {
			return err
		}
		if b&0xc0 != 0x40 {
			return c.connError(codeQPACKDecoderStreamError, fmt.Sprintf("decoder instruction %#x without a dynamic table", b))
		}
		if err := skipPrefixInt(fr, b, 6); err != nil {
			return err
		}
	}
}

// skipPrefixInt consumes the rest of an integer with an n-bit prefix whose first byte,
// first, was read (a Stream Cancellation's stream ID).
func skipPrefixInt(fr *frameReader, first byte, n uint) error {
	if uint64(first)&(1<<n-1) < 1<<n-1 {
		return nil
	}
	for {
		b, err := fr.readByte()
		if err != nil || b&0x80 == 0 {
			return err
		}
	}
}
