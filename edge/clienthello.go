package edge

import (
	"golang.org/x/crypto/cryptobyte"
)

// helloSNI reads the server name of the ClientHello that b starts with, for routing a
// connection early (helloearly.go) without the TLS machinery's allocations (crypto/tls
// makes some 30 to parse a ClientHello). It must never disagree with crypto/tls: ok is
// true only when crypto/tls, given b, would reach GetConfigForClient with ServerName
// name (FuzzHelloSNI checks this). So it accepts less than crypto/tls, never more: one
// handshake record holding exactly the ClientHello, no Encrypted Client Hello, every
// extension crypto/tls checks well formed and none twice. acme is set when the ALPN
// list names acme-tls/1 (an ACME validation, which the slow path tells apart).
// Anything else is left to crypto/tls (ok false): the slow path, which reads every
// ClientHello the same way.
func helloSNI(b []byte) (name []byte, acme, ok bool) {
	if len(b) < 5 || b[0] != 0x16 || b[1] >= 0x10 { // crypto/tls: a handshake record, version < 0x1000
		return nil, false, false
	}
	n := int(b[3])<<8 | int(b[4])
	if n < 4 || n > 16384 || len(b) < 5+n {
		return nil, false, false
	}
	msg := b[5 : 5+n]
	if msg[0] != 1 || int(msg[1])<<16|int(msg[2])<<8|int(msg[3]) != n-4 { // one ClientHello, exactly
		return nil, false, false
	}
	return clientHelloSNI(cryptobyte.String(msg[4:]))
}

// clientHelloSNI parses a ClientHello's body as crypto/tls's clientHelloMsg.unmarshal
// does, keeping only the server name and whether acme-tls/1 is offered.
func clientHelloSNI(s cryptobyte.String) (name []byte, acme, ok bool) {
	var random, sessionID, suites, compression cryptobyte.String
	if !s.Skip(2) || !s.ReadBytes((*[]byte)(&random), 32) || !s.ReadUint8LengthPrefixed(&sessionID) ||
		!s.ReadUint16LengthPrefixed(&suites) || len(suites)%2 != 0 || !s.ReadUint8LengthPrefixed(&compression) {
		return nil, false, false
	}
	if s.Empty() {
		return nil, false, false // no extensions: no server name
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return nil, false, false
	}
	var seen [64]uint16 // extension types seen; more than 64 extensions go to crypto/tls
	nseen := 0
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) || nseen == len(seen) {
			return nil, false, false
		}
		for _, t := range seen[:nseen] {
			if t == typ {
				return nil, false, false
			}
		}
		seen[nseen] = typ
		nseen++
		var good bool
		switch typ {
		case 0: // server_name
			name, good = readServerName(data)
		case 16: // application_layer_protocol_negotiation
			acme, good = readALPN(data)
		case 0xfe0d: // encrypted_client_hello: crypto/tls checks it; left to it
			return nil, false, false
		default:
			good = extensionWellFormed(typ, &exts, data)
		}
		if !good {
			return nil, false, false
		}
	}
	return name, acme, len(name) > 0
}

// readServerName reads a server_name extension as crypto/tls does: a non-empty list of
// non-empty names, at most one host_name (type 0), without a trailing dot.
func readServerName(data cryptobyte.String) (name []byte, ok bool) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || list.Empty() || !data.Empty() {
		return nil, false
	}
	for !list.Empty() {
		var typ uint8
		var n cryptobyte.String
		if !list.ReadUint8(&typ) || !list.ReadUint16LengthPrefixed(&n) || n.Empty() {
			return nil, false
		}
		if typ != 0 {
			continue
		}
		if len(name) != 0 || n[len(n)-1] == '.' {
			return nil, false
		}
		name = n
	}
	return name, true
}

// readALPN reads an ALPN extension as crypto/tls does (a non-empty list of non-empty
// protocols); acme reports acme-tls/1 among them.
func readALPN(data cryptobyte.String) (acme, ok bool) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || list.Empty() || !data.Empty() {
		return false, false
	}
	for !list.Empty() {
		var p cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&p) || p.Empty() {
			return false, false
		}
		acme = acme || string(p) == acmeTLSALPN
	}
	return acme, true
}
