package edge

import "golang.org/x/crypto/cryptobyte"

// extensionWellFormed checks the extensions crypto/tls's clientHelloMsg.unmarshal
// checks, as it does (the server name and ALPN are read by clientHelloSNI itself);
// others are not looked into. exts is what follows the extension: pre_shared_key must
// be the last.
func extensionWellFormed(typ uint16, exts *cryptobyte.String, data cryptobyte.String) bool {
	var list cryptobyte.String
	switch typ {
	case 5: // status_request
		var status uint8
		var a, b cryptobyte.String
		return data.ReadUint8(&status) && data.ReadUint16LengthPrefixed(&a) && data.ReadUint16LengthPrefixed(&b) && data.Empty()
	case 10, 13, 50: // supported_groups, signature_algorithms, signature_algorithms_cert
		return data.ReadUint16LengthPrefixed(&list) && !list.Empty() && len(list)%2 == 0 && data.Empty()
	case 11: // ec_point_formats
		return data.ReadUint8LengthPrefixed(&list) && !list.Empty() && data.Empty()
	case 65281, 45: // renegotiation_info, psk_key_exchange_modes
		return data.ReadUint8LengthPrefixed(&list) && data.Empty()
	case 43: // supported_versions
		return data.ReadUint8LengthPrefixed(&list) && !list.Empty() && len(list)%2 == 0 && data.Empty()
	case 44: // cookie
		return data.ReadUint16LengthPrefixed(&list) && !list.Empty() && data.Empty()
	case 51: // key_share
		return keySharesWellFormed(data)
	case 41: // pre_shared_key
		return exts.Empty() && pskWellFormed(data)
	case 23, 18, 42: // extended_master_secret, signed_certificate_timestamp, early_data
		return data.Empty()
	}
	return true // session_ticket, quic_transport_parameters and unknown ones: any content
}

// keySharesWellFormed checks a key_share extension: a list of groups with non-empty keys.
func keySharesWellFormed(data cryptobyte.String) bool {
	var shares cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&shares) || !data.Empty() {
		return false
	}
	for !shares.Empty() {
		var key cryptobyte.String
		if !shares.Skip(2) || !shares.ReadUint16LengthPrefixed(&key) || key.Empty() {
			return false
		}
	}
	return true
}

// pskWellFormed checks a pre_shared_key extension: non-empty lists of non-empty
// identities (each with its ticket age) and of non-empty binders.
func pskWellFormed(data cryptobyte.String) bool {
	var ids, binders cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&ids) || ids.Empty() {
		return false
	}
	for !ids.Empty() {
		var label cryptobyte.String
		if !ids.ReadUint16LengthPrefixed(&label) || label.Empty() || !ids.Skip(4) {
			return false
		}
	}
	if !data.ReadUint16LengthPrefixed(&binders) || binders.Empty() || !data.Empty() {
		return false
	}
	for !binders.Empty() {
		var b cryptobyte.String
		if !binders.ReadUint8LengthPrefixed(&b) || b.Empty() {
			return false
		}
	}
	return true
}
