package proxy

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
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
	"cookie ,\tetag", "upgrade", "\rx-custom", "x-forwarded-for", "Bad Name, x-ä", "X-Ä,\n te"}

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
		f.writeKey(bw, k) // a field's bytes are as before: the names and their order are compared
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

// TestMoveEndToEndMatchesRemoveAndMove checks, on random response header sets moved into
// random ResponseWriter headers, that moveEndToEnd leaves both maps as removeHopByHop then
// moveHeader did (the values of two source names that are one key, as "x-custom" and
// "X-Custom", compared in any order: the map's order decides theirs), and that the values it shares are clipped (an append to the
// destination's never writes into the source's).
func TestMoveEndToEndMatchesRemoveAndMove(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2))
	dropped := 0
	for i := range 20000 {
		src, dst := randomHeader(rng), randomHeader(rng)
		refSrc, refDst := src.Clone(), dst.Clone()
		before := len(src)
		removeHopByHop(refSrc)
		moveHeader(refDst, refSrc)
		moveEndToEnd(dst, src)
		if collides(src) { // two source names, one key: their order is the map's
			sortValues(dst)
			sortValues(refDst)
		}
		if !reflect.DeepEqual(src, refSrc) || !reflect.DeepEqual(dst, refDst) {
			t.Fatalf("set %d:\nsrc  %q\nwant %q\ndst  %q\nwant %q", i, src, refSrc, dst, refDst)
		}
		if len(src) < before {
			dropped++
		}
		for k, vv := range maps.All(dst) {
			if cap(vv) != len(vv) && src[k] != nil && &vv[0] == &src[k][0] {
				t.Fatalf("set %d: %q shares an unclipped slice", i, k)
			}
		}
	}
	if dropped == 0 {
		t.Fatal("no set had a header dropped: the sets do not cover the hop-by-hop ones")
	}
}

// collides reports whether two names of h have one canonical form.
func collides(h http.Header) bool {
	seen := map[string]bool{}
	for k := range h {
		c := http.CanonicalHeaderKey(k)
		if seen[c] {
			return true
		}
		seen[c] = true
	}
	return false
}

// sortValues sorts the values of every name of h.
func sortValues(h http.Header) {
	for _, vv := range h {
		slices.Sort(vv)
	}
}

// BenchmarkResponseHeaderMove is the response header's way into the ResponseWriter's
// for a typical upstream response: "two-pass" removeHopByHop then moveHeader, "one-pass"
// moveEndToEnd.
func BenchmarkResponseHeaderMove(b *testing.B) {
	res := http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Content-Length": {"5"},
		"Cache-Control": {"no-cache"}, "Etag": {`"abc"`}, "Date": {"Thu, 03 Dec 2026 13:00:00 GMT"},
		"Connection": {"keep-alive"}, "Keep-Alive": {"timeout=5"}}
	for _, bc := range []struct {
		name string
		move func(dst, src http.Header)
	}{
		{"two-pass", func(dst, src http.Header) { removeHopByHop(src); moveHeader(dst, src) }},
		{"one-pass", moveEndToEnd},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src, dst := http.Header{}, http.Header{}
			b.ReportAllocs()
			for b.Loop() {
				maps.Copy(src, res)
				bc.move(dst, src)
				clear(src)
				clear(dst)
			}
		})
	}
}

// BenchmarkRequestHeadFields is the check and the writing of a browser-like request's
// headers: "two-pass" the former validate and writeFields, "one-pass" prepare and
// writeFields.
func BenchmarkRequestHeadFields(b *testing.B) {
	in := &http.Request{Host: "shop.example.com", Header: http.Header{
		"User-Agent": {"Mozilla/5.0"}, "Accept": {"text/html"}, "Accept-Encoding": {"gzip, br"},
		"Accept-Language": {"en"}, "Cookie": {"session=abc"}, "Connection": {"keep-alive"}}}
	f := fwdHead{in: in, clientIP: "192.0.2.7"}
	bw := bufio.NewWriterSize(io.Discard, 4096)
	b.Run("two-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if refValidate(&f) != "" {
				b.Fatal("refused")
			}
			kp := keyPool.Get().(*[]string) // the former writeFields' pooled names
			keys := (*kp)[:0]
			for k := range f.in.Header {
				if written(k) && !f.dropped(k) {
					keys = append(keys, k)
				}
			}
			*kp = f.addedKeys(keys)
			f.keys = kp
			f.writeFields(bw)
			f.release()
		}
	})
	b.Run("one-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f.prepare() != "" {
				b.Fatal("refused")
			}
			f.writeFields(bw)
			f.release()
		}
	})
}
