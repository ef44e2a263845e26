package schema

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
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

// keyMarkerPEM and keyMarkerPuTTY are the words, compared on letters only and ignoring
// case, that only private key material carries: PEM labels of every kind ("PRIVATE KEY",
// "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"), OpenSSL's
// "Private-Key:" text dumps and PuTTY key files.
const (
	keyMarkerPEM   = "PRIVATEKEY"
	keyMarkerPuTTY = "PUTTYUSERKEYFILE"
)

// scanPEM reads a certificate file line by line, strictly: every "-----BEGIN" line must
// start a block that parses up to its END line, and any private key material is refused
// however it is written (indented, with CRLF, in a damaged block, as bare base64 DER).
// Other text between blocks (OpenSSL's "subject=" lines) is allowed. It returns the
// CERTIFICATE blocks, or the problems found (each a sentence fragment about the file).
func scanPEM(b []byte) ([]pemCert, []string) {
	lines := bytes.Split(b, []byte("\n"))
	offs := make([]int, len(lines)+1) // offs[i] is where line i starts in b
	crlf := false
	for i, l := range lines {
		offs[i+1] = offs[i] + len(l) + 1
		if t := bytes.TrimSuffix(l, []byte("\r")); len(t) != len(l) {
			lines[i], crlf = t, true // CRLF files are fine
		}
		if hasKeyMarker(l) {
			return nil, []string{keyProblem(i + 1)}
		}
	}
	// block returns the text of lines [from, to]: b itself unless a "\r" was trimmed.
	block := func(from, to int) []byte {
		if crlf {
			return bytes.Join(lines[from:to+1], []byte("\n"))
		}
		return b[offs[from] : offs[to+1]-1]
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
		c, p := decodeBlock(block(start, i), start+1)
		if p != "" {
			problems = append(problems, p)
			continue
		}
		certs = append(certs, c)
	}
	endRun(len(lines))
	return certs, problems
}

// knownPEMTypes are the labels of public PEM blocks that messages may name.
var knownPEMTypes = map[string]bool{
	"PUBLIC KEY": true, "RSA PUBLIC KEY": true, "X509 CRL": true, "CERTIFICATE REQUEST": true,
	"NEW CERTIFICATE REQUEST": true, "TRUSTED CERTIFICATE": true, "PKCS7": true, "CMS": true,
	"DH PARAMETERS": true, "EC PARAMETERS": true, "ATTRIBUTE CERTIFICATE": true,
}

// decodeBlock decodes the text of one PEM block, which starts on line.
func decodeBlock(text []byte, line int) (pemCert, string) {
	blk, rest := pem.Decode(text)
	if blk == nil || len(bytes.TrimSpace(rest)) != 0 {
		return pemCert{}, fmt.Sprintf("has a PEM block at line %d that does not parse (damaged base64, an indented or changed line?); re-export the certificate", line)
	}
	if blk.Type != "CERTIFICATE" {
		if isPrivateKeyDER(blk.Bytes) {
			return pemCert{}, keyProblem(line)
		}
		what := "a block of another type" // its label is not quoted: it could be anything
		if knownPEMTypes[blk.Type] {
			what = fmt.Sprintf("a %q block", blk.Type)
		}
		return pemCert{}, fmt.Sprintf("holds %s (line %d); a certificate file holds only CERTIFICATE blocks", what, line)
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

// isPrivateKeyDER reports whether der has the shape of a private key: PKCS#8 (plain or
// encrypted), PKCS#1 RSA, SEC 1 EC or an OpenSSH key. It reads the ASN.1 structure only,
// in time linear in len(der): x509's key parsers do arithmetic on the numbers they read
// (checking an RSA key with a megabit modulus takes minutes), which a crafted file must
// not be able to trigger.
func isPrivateKeyDER(der []byte) bool {
	if bytes.HasPrefix(der, []byte("openssh-key-v1\x00")) {
		return true
	}
	var p8 struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
		Attributes asn1.RawValue `asn1:"optional,tag:0"`
		PublicKey  asn1.RawValue `asn1:"optional,tag:1"`
	}
	if rest, err := asn1.Unmarshal(der, &p8); err == nil && len(rest) == 0 && (p8.Version == 0 || p8.Version == 1) {
		return true
	}
	var enc struct {
		Algo pkix.AlgorithmIdentifier
		Data []byte
	}
	if rest, err := asn1.Unmarshal(der, &enc); err == nil && len(rest) == 0 && isPBE(enc.Algo.Algorithm) {
		return true
	}
	var p1 struct {
		Version                     int
		N, E, D, P, Q, Dp, Dq, Qinv asn1.RawValue
		Additional                  asn1.RawValue `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(der, &p1); err == nil && len(rest) == 0 && p1.Version <= 1 && p1.N.Tag == asn1.TagInteger {
		return true
	}
	var ec struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.RawValue `asn1:"optional,explicit,tag:0"`
		PublicKey  asn1.RawValue `asn1:"optional,explicit,tag:1"`
	}
	rest, err := asn1.Unmarshal(der, &ec)
	return err == nil && len(rest) == 0 && ec.Version == 1
}

// isPBE reports whether oid is a password-based encryption scheme of PKCS#5 or PKCS#12,
// which encrypted PKCS#8 keys use.
func isPBE(oid asn1.ObjectIdentifier) bool {
	pkcs5 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5}
	pkcs12 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
	return hasOIDPrefix(oid, pkcs5) || hasOIDPrefix(oid, pkcs12)
}

func hasOIDPrefix(oid, prefix asn1.ObjectIdentifier) bool {
	return len(oid) > len(prefix) && oid[:len(prefix)].Equal(prefix)
}

// hasKeyMarker reports whether line holds keyMarkerPEM or keyMarkerPuTTY, comparing
// letters only and ignoring case ("Private-Key:", "private key", "PRIVATE  KEY"). It
// allocates nothing and reads line once, following both markers at each letter
// (markerLetter folds case and drops what is not a letter); the simple restart on a
// mismatch is exact because no marker repeats its first letter. Every line of every
// certificate file goes through it: one pass instead of one per marker took the scan of a
// two-certificate chain (BenchmarkScanPEM) from 9.4 to 7.9 us.
func hasKeyMarker(line []byte) bool {
	const m0, m1 = keyMarkerPEM, keyMarkerPuTTY
	k0, k1 := 0, 0
	for _, c := range line {
		u := markerLetter[c]
		if u == 0 {
			continue
		}
		switch {
		case u == m0[k0]:
			if k0++; k0 == len(m0) {
				return true
			}
		case u == m0[0]:
			k0 = 1
		default:
			k0 = 0
		}
		switch {
		case u == m1[k1]:
			if k1++; k1 == len(m1) {
				return true
			}
		case u == m1[0]:
			k1 = 1
		default:
			k1 = 0
		}
	}
	return false
}

// markerLetter maps each ASCII letter to its upper case and every other byte to 0.
var markerLetter = func() (t [256]byte) {
	for c := byte('A'); c <= 'Z'; c++ {
		t[c], t[c+'a'-'A'] = c, c
	}
	return t
}()
