package site

import (
	"testing"
	"time"
)

func TestStickyWithDefaults(t *testing.T) {
	for _, tc := range []struct {
		s         Sticky
		routePath string
		want      Sticky
	}{
		{Sticky{Cookie: "srv"}, "/api", Sticky{Cookie: "srv", Path: "/api", SameSite: SameSiteLax}},
		{Sticky{Cookie: "srv"}, "", Sticky{Cookie: "srv", Path: "/", SameSite: SameSiteLax}},
		{Sticky{Cookie: "srv", Path: "/", MaxAge: time.Hour, SameSite: SameSiteNone, NoHTTPOnly: true}, "/api",
			Sticky{Cookie: "srv", Path: "/", MaxAge: time.Hour, SameSite: SameSiteNone, NoHTTPOnly: true}},
	} {
		if got := tc.s.WithDefaults(tc.routePath); got != tc.want {
			t.Errorf("%+v.WithDefaults(%q) = %+v; want %+v", tc.s, tc.routePath, got, tc.want)
		}
	}
}

func TestRouteWeight(t *testing.T) {
	r := Route{}
	if r.Weight(3) != 1 {
		t.Errorf("no weights: weight %d; want 1", r.Weight(3))
	}
	r.Weights = []int{95, 5}
	if r.Weight(0) != 95 || r.Weight(1) != 5 {
		t.Errorf("weights %v: got %d, %d", r.Weights, r.Weight(0), r.Weight(1))
	}
}
