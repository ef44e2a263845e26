package schema

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
)

// pemCert is a CERTIFICATE block of a certificate file and the line it starts on.
type pemCert struct {
	line int
	der  []byte
}

// keyProblem is the one message for private key material in a certificate file. It never
// quotes the file's content.
func keyProblem(line int) string {
	return fmt.Sprintf("holds private key material (line %d); private keys must never be committed: remove it, rotate the key and store it in Vault", line)
}

// keyMarkers are the words, compared on letters only and ignoring case, that only private
// key material carries: PEM labels of every kind ("PRIVATE KEY", "RSA PRIVATE KEY",
// "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"), OpenSSL's "Private-Key:" text dumps and
// PuTTY key files.
var keyMarkers = []string{"PRIVATEKEY", "PUTTYUSERKEYFILE"}

// scanPEM reads a certificate file line by line, strictly: every "-----BEGIN" line must
// start a block that parses up to its END line, and any private key material is refused
// however it is written (indented, with CRLF, in a damaged block, as bare base64 DER).
// Other text between blocks (OpenSSL's "subject=" lines) is allowed. It returns the
// CERTIFICATE blocks, or the problems found (each a sentence fragment about the file).
func scanPEM(b []byte) ([]pemCert, []string) {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r")) // CRLF files are fine
		if hasKeyMarker(l) {
			return nil, []string{keyProblem(i + 1)}
		}
	}
	var certs []pemCert
	var problems []string
	runStart := -1 // first line of a run of base64 text outside any block
	endRun := func(end int) {
		if runStart < 0 {
			return
		}
		if p := judgeBase64Run(lines[runStart:end], runStart+1); p != "" {
			problems = append(problems, p)
		}
		runStart = -1
	}
	for i := 0; i < len(lines); i++ {
		t := bytes.TrimSpace(lines[i])
		if !bytes.HasPrefix(t, []byte("-----BEGIN")) {
			if isBase64Line(t) {
				if runStart < 0 {
					runStart = i
				}
			} else {
				endRun(i)
			}
			continue
		}
		endRun(i)
		start := i
		for i++; i < len(lines) && !bytes.HasPrefix(bytes.TrimSpace(lines[i]), []byte("-----END")); i++ {
		}
		if i == len(lines) {
			problems = append(problems, fmt.Sprintf("has a PEM block at line %d without an -----END line", start+1))
			break
		}
		c, p := decodeBlock(lines[start:i+1], start+1)
		if p != "" {
			problems = append(problems, p)
			continue
		}
		certs = append(certs, c)
	}
	endRun(len(lines))
	return certs, problems
}

// decodeBlock decodes the lines of one PEM block, which starts on line.
func decodeBlock(lines [][]byte, line int) (pemCert, string) {
	blk, rest := pem.Decode(bytes.Join(lines, []byte("\n")))
	if blk == nil || len(bytes.TrimSpace(rest)) != 0 {
		return pemCert{}, fmt.Sprintf("has a PEM block at line %d that does not parse (damaged base64, an indented or changed line?); re-export the certificate", line)
	}
	if isPrivateKeyDER(blk.Bytes) {
		return pemCert{}, keyProblem(line)
	}
	if blk.Type != "CERTIFICATE" {
		t := blk.Type
		if len(t) > 40 {
			t = t[:40] + "..."
		}
		return pemCert{}, fmt.Sprintf("holds a %q block (line %d); a certificate file holds only CERTIFICATE blocks", t, line)
	}
	return pemCert{line: line, der: blk.Bytes}, ""
}

// judgeBase64Run looks at base64 text outside any PEM block: private key DER is refused
// as such, and any other run long enough to be a damaged certificate or key (a block whose
// BEGIN line is gone) is refused too.
func judgeBase64Run(run [][]byte, line int) string {
	var joined []byte
	for _, l := range run {
		joined = append(joined, bytes.TrimSpace(l)...)
	}
	der, err := base64.StdEncoding.DecodeString(string(joined))
	if err != nil {
		der, err = base64.RawStdEncoding.DecodeString(string(joined))
	}
	if err == nil && isPrivateKeyDER(der) {
		return keyProblem(line)
	}
	if len(joined) >= 64 {
		return fmt.Sprintf("holds base64 text outside any PEM block (line %d), maybe a damaged certificate or key; a certificate file holds only CERTIFICATE blocks", line)
	}
	return ""
}

// isBase64Line reports whether t (trimmed) looks like a line of base64: at least 16
// characters, all of the base64 alphabet.
func isBase64Line(t []byte) bool {
	if len(t) < 16 {
		return false
	}
	for _, c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// isPrivateKeyDER reports whether der is a private key: PKCS#8, PKCS#1 RSA, SEC 1 EC or an
// OpenSSH key.
func isPrivateKeyDER(der []byte) bool {
	if bytes.HasPrefix(der, []byte("openssh-key-v1\x00")) {
		return true
	}
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}

// hasKeyMarker reports whether line holds one of keyMarkers, comparing letters only and
// ignoring case ("Private-Key:", "private key", "PRIVATE  KEY").
func hasKeyMarker(line []byte) bool {
	var buf [128]byte
	letters := buf[:0]
	for _, c := range line {
		switch {
		case c >= 'a' && c <= 'z':
			letters = append(letters, c-('a'-'A'))
		case c >= 'A' && c <= 'Z':
			letters = append(letters, c)
		}
	}
	for _, m := range keyMarkers {
		if bytes.Contains(letters, []byte(m)) {
			return true
		}
	}
	return false
}
