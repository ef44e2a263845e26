package main

import (
	"bytes"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestHandlerSizes(t *testing.T) {
	for _, tc := range []struct {
		path  string
		fixed bool
		want  int
	}{
		{"/", false, len(body)},
		{"/8k", false, 8 << 10},
		{"/64k", false, 64 << 10},
		{"/1024k", false, 1 << 20},
		{"/1025k", false, len(body)},
		{"/0k", false, len(body)},
		{"/08k", false, len(body)},
		{"/k", false, len(body)},
		{"/8kb", false, len(body)},
		{"/8k", true, len(body)},
	} {
		rec := httptest.NewRecorder()
		handler(tc.fixed).ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if got := rec.Body.Len(); got != tc.want {
			t.Errorf("GET %s (fixed %v): %d bytes; want %d", tc.path, tc.fixed, got, tc.want)
		}
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(tc.want) {
			t.Errorf("GET %s: Content-Length %q; want %d", tc.path, cl, tc.want)
		}
	}
}

func TestSizedBodyIsStable(t *testing.T) {
	a := append([]byte(nil), sizedBody(8)...)
	if b := textBody(8 << 10); !bytes.Equal(a, b) {
		t.Fatal("the 8 KiB body differs from textBody(8192)")
	}
	if &sizedBody(8)[0] != &sizedBody(8)[0] {
		t.Error("sizedBody(8) is made again on each call; want it kept")
	}
}
