package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// startCheck runs up's active health check in a goroutine until up is released or the
// Manager is closed.
func (m *Manager) startCheck(up *upstream) {
	if up.check == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	up.stop = cancel
	m.wg.Add(1)
	m.checkers.Add(1)
	go func() {
		defer m.wg.Done()
		defer m.checkers.Add(-1)
		m.runChecks(ctx, up)
	}()
}

func (m *Manager) runChecks(ctx context.Context, up *upstream) {
	client := checkClient(up.transport)
	target := up.base.String() + up.check.Path
	t := time.NewTimer(jittered(up.check.Interval))
	defer t.Stop()
	for {
		err := checkOnce(ctx, client, target, up.check)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil && up.down.Load():
			up.down.Store(false)
			up.succeeded()
			m.log.LogAttrs(ctx, slog.LevelInfo, "proxy: upstream up", slog.String("upstream", up.base.Host))
		case err != nil && !up.down.Load():
			up.down.Store(true)
			m.log.LogAttrs(ctx, slog.LevelWarn, "proxy: upstream down",
				slog.String("upstream", up.base.Host), slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			t.Reset(jittered(up.check.Interval))
		}
	}
}

// jittered returns d ± 10%, at random: thousands of upstreams whose checks started
// together (one snapshot) drift apart instead of probing in bursts forever.
func jittered(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}

// checkClient is the HTTP client of health checks over rt: redirects are answers, not
// followed (a login redirect must not pass for health).
func checkClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

var errCheckStatus = errors.New("proxy: health check status")

// checkOnce performs one health check: nil means healthy.
func checkOnce(ctx context.Context, c *http.Client, target string, hc *site.HealthCheck) error {
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("proxy: health check %s: %w", target, err)
	}
	req.Header.Set("User-Agent", "edge-health-check")
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("proxy: health check: %w", err)
	}
	_, _ = io.CopyN(io.Discard, res.Body, 64<<10) // let the connection be reused
	res.Body.Close()
	if hc.ExpectStatus != 0 {
		if res.StatusCode != hc.ExpectStatus {
			return fmt.Errorf("%w: got %d; want %d", errCheckStatus, res.StatusCode, hc.ExpectStatus)
		}
		return nil
	}
	if res.StatusCode < 200 || res.StatusCode > 399 {
		return fmt.Errorf("%w: got %d; want 2xx or 3xx", errCheckStatus, res.StatusCode)
	}
	return nil
}
