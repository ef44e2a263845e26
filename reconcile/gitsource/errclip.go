package gitsource

import "fmt"

// maxErrText is the most of an error's text a Source passes on (in Poll's errors and its
// log): a server's error message, a side-band error or an unexpected pkt-line is quoted by
// go-git whole, up to 64 KiB each, and would flood the log and the agent's status.
const maxErrText = 512

// clippedError is an error whose text is cut at maxErrText; it wraps the error whole.
type clippedError struct {
	err  error
	text string
}

func (e *clippedError) Error() string { return e.text }
func (e *clippedError) Unwrap() error { return e.err }

// clipErr returns err with its text cut at maxErrText bytes (nil for nil; err itself when
// short enough).
func clipErr(err error) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	if len(text) <= maxErrText {
		return err
	}
	cut := maxErrText
	for cut > 0 && text[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return &clippedError{err: err, text: fmt.Sprintf("%s... (%d bytes more)", text[:cut], len(text)-cut)}
}
