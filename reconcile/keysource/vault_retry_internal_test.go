package keysource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// TestDoNamesTheFailureBeforeTheDeadline: when the deadline cuts the last attempt short,
// the error names the attempt before it (Vault down), not the deadline twice.
func TestDoNamesTheFailureBeforeTheDeadline(t *testing.T) {
	v := &Vault{attempts: 1000}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := v.do(ctx, func() (bool, error) {
		calls++
		if calls < 3 {
			return false, fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
		}
		cancel() // the deadline arrives during this attempt
		return false, fmt.Errorf("read secret: %w", ctx.Err())
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "connection refused") ||
		!strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v; want canceled after 3 attempts, naming connection refused", err)
	}
}

// TestDoNamesTheOnlyAttempt: a first attempt cut short by ctx is named as it is.
func TestDoNamesTheOnlyAttempt(t *testing.T) {
	v := &Vault{attempts: 3}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := v.do(ctx, func() (bool, error) { return false, fmt.Errorf("read secret: %w", ctx.Err()) })
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "after 1 attempts: read secret") {
		t.Fatalf("err = %v; want the first attempt's own error", err)
	}
}
