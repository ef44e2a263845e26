package proxy

import (
	"context"
	"testing"
)

func TestInfoContext(t *testing.T) {
	if got := infoFrom(context.Background()); got != nil {
		t.Fatalf("infoFrom(empty) = %v; want nil", got)
	}
	info := new(Info)
	if got := infoFrom(WithInfo(context.Background(), info)); got != info {
		t.Fatalf("infoFrom = %p; want %p", got, info)
	}
}
