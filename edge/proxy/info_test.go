package proxy

import (
	"context"
	"testing"
)

func TestInfoContext(t *testing.T) {
	if got := InfoFrom(context.Background()); got != nil {
		t.Fatalf("InfoFrom(empty) = %v; want nil", got)
	}
	info := new(Info)
	if got := InfoFrom(WithInfo(context.Background(), info)); got != info {
		t.Fatalf("InfoFrom = %p; want %p", got, info)
	}
}
