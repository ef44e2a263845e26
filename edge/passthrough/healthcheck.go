package passthrough

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"
)

// Start runs the active health checks of every upstream, if the site declares them:
// a TCP connect every interval, bounded by the check's timeout; a failure marks the
// upstream down until a check succeeds. It is idempotent, and does nothing after Close.
func (p *Pool) Start() {
	if p.conf.HealthCheck == nil {
		return
	}
	p.start.Do(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.done {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		p.stop = cancel
		for _, up := range p.ups {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.runChecks(ctx, up)
			}()
		}
	})
}

// Checking reports whether the active health checks run (started and not closed).
func (p *Pool) Checking() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stop != nil && !p.done
}

// Close stops the health checks and waits for them to end. The pool still dials.
func (p *Pool) Close() {
	p.mu.Lock()
	p.done = true
	stop := p.stop
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
	p.wg.Wait()
}

// runChecks checks up until ctx ends.
func (p *Pool) runChecks(ctx context.Context, up *Upstream) {
	hc := p.conf.HealthCheck
	d := net.Dialer{Timeout: hc.Timeout}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, err := d.DialContext(ctx, "tcp", up.Addr)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			c.Close()
		}
		switch {
		case err == nil && up.down.Load():
			up.down.Store(false)
			up.fails.Store(0)
			up.ejectedUntil.Store(0)
			p.log.LogAttrs(ctx, slog.LevelInfo, "passthrough: upstream up", slog.String("site", p.site), slog.String("upstream", up.Addr))
		case err != nil && !up.down.Load():
			up.down.Store(true)
			p.log.LogAttrs(ctx, slog.LevelWarn, "passthrough: upstream down", slog.String("site", p.site),
				slog.String("upstream", up.Addr), slog.Any("error", err))
		}
		t.Reset(hc.Interval - hc.Interval/10 + rand.N(hc.Interval/5+1))
	}
}

// Healthy reports whether up passes its active checks (always, without them).
func (up *Upstream) Healthy() bool { return !up.down.Load() }
