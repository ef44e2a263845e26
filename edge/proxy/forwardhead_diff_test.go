package proxy

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"net/http"
	"testing"
)

// diffNames are header names a random header set is drawn from: ordinary ones, the
// hop-by-hop ones, the forwarding ones, those Request.Write writes itself, names that are
// not tokens, and names in non-canonical form.
var diffNames = []string{"Accept", "Cookie", "User-Agent", "Host", "Content-Length",
	"Content-Type", "Etag", "Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Proxy-Authorization", "Proxy-Authenticate", "Forwarded",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
	"X-Real-Ip", "X_forwarded_for", "X-Custom", "x-custom", "Bad Name", "Bad\x00", "X-Ä"}

// diffValues are header values, some with control characters or surrounding spaces.
var diffValues = []string{"a", " spaced\t", "", "gzip, br", "1.2.3.4", "bad\x01value",
	"bad\r\nsplit", "trailers", "keep-alive", "x-custom, Keep-Alive", "X-CUSTOM",
	"cookie ,\tetag", "upgrade", "\rx-custom", "x-forwarded-for"}

// randomHeader draws a header set of up to 8 names, each with 1 to 3 values.
func randomHeader(rng *rand.Rand) http.Header {
	h := http.Header{}
	for range rng.IntN(9) {
		k := diffNames[rng.IntN(len(diffNames))]
		for range 1 + rng.IntN(3) {
			h[k] = append(h[k], diffValues[rng.IntN(len(diffValues))])
		}
	}
	return h
}

// refValidate is fwdHead.validate before prepare replaced it.
func refValidate(f *fwdHead) string {
	for k, vv := range f.in.Header {
		if f.dropped(k) {
			continue
		}
		if msg := validateHeader(k, vv); msg != "" {
			return msg
		}
	}
	if f.trusted {
		for _, k := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if msg := validateHeader(k, f.in.Header[k]); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// refWriteFields is fwdHead.writeFields before prepare collected its names.
func refWriteFields(f *fwdHead, bw *bufio.Writer) {
	var keys []string
	for k := range f.in.Header {
		if written(k) && !f.dropped(k) {
			keys = append(keys, k)
		}
	}
	keys = f.addedKeys(keys)
	for _, k := range keys {
		switch k {
		case "Te":
			writeField(bw, k, "trailers")
		case "X-Forwarded-For":
			writeField(bw, k, f.forwardedFor())
		case "X-Forwarded-Host":
			f.writeForwarded(bw, k, f.in.Host)
		case "X-Forwarded-Proto":
			f.writeForwarded(bw, k, f.proto())
		default:
			for _, v := range f.in.Header[k] {
				writeField(bw, k, v)
			}
		}
	}
}

// TestPrepareMatchesValidateAndWrite checks, on random header sets, that prepare's single
// pass refuses exactly the heads the former validate refused (a map's order decides which
// invalid header is named, so only refusal is compared), and that writeFields then writes
// the same bytes as the former writeFields, prepared or not.
func TestPrepareMatchesValidateAndWrite(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 1))
	refused := 0
	for i := range 20000 {
		in := &http.Request{Header: randomHeader(rng), Host: "shop.example.com"}
		f := fwdHead{in: in, te: rng.IntN(2) == 0, trusted: rng.IntN(2) == 0}
		if rng.IntN(4) > 0 {
			f.clientIP = "192.0.2.7"
		}
		want := refValidate(&f)
		got := f.prepare()
		if (got == "") != (want == "") {
			t.Fatalf("set %d %q: prepare %q, validate %q", i, in.Header, got, want)
		}
		if got != "" {
			refused++
			if f.keys != nil {
				t.Fatalf("set %d: a refused head holds its names", i)
			}
			continue
		}
		var ref, prepared, unprepared bytes.Buffer
		bw := bufio.NewWriter(&ref)
		refWriteFields(&f, bw)
		bw.Flush()
		bw.Reset(&prepared)
		f.writeFields(bw)
		bw.Flush()
		f.release()
		if f.keys != nil {
			t.Fatalf("set %d: release kept the names", i)
		}
		bw.Reset(&unprepared)
		f.writeFields(bw)
		bw.Flush()
		if !bytes.Equal(prepared.Bytes(), ref.Bytes()) || !bytes.Equal(unprepared.Bytes(), ref.Bytes()) {
			t.Fatalf("set %d %q:\nwant %q\ngot  %q\nunprepared %q", i, in.Header, ref.Bytes(),
				prepared.Bytes(), unprepared.Bytes())
		}
	}
	if refused == 0 || refused == 20000 {
		t.Fatalf("%d of 20000 sets refused: the sets do not cover both outcomes", refused)
	}
}
