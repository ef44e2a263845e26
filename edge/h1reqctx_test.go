package edge

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/reqcancel"
	"github.com/edgectl/edge/edge/proxy"
)

type reqCtxKey struct{}

// reqCtxPair is a context to observe and the function that ends it.
type reqCtxPair struct {
	ctx    context.Context
	cancel func()
	own    *h1ReqCtx // nil for context.WithCancel's
}

// newReqCtxPairs returns the two kinds of request context on the same parent:
// context.WithCancel's (the reference) and the loop's h1ReqCtx.
func newReqCtxPairs() []reqCtxPair {
	base := context.WithoutCancel(context.WithValue(context.Background(), reqCtxKey{}, "v"))
	std, cancel := context.WithCancel(base)
	own := &h1ReqCtx{Context: base}
	return []reqCtxPair{{std, cancel, nil}, {own, own.cancel, own}}
}

// observe describes ctx as a test sees it.
func observe(ctx context.Context) string {
	closed := false
	select {
	case <-ctx.Done():
		closed = true
	default:
	}
	_, hasDeadline := ctx.Deadline()
	return fmt.Sprintf("err=%v cause=%v done=%v deadline=%v value=%v", ctx.Err(), context.Cause(ctx), closed,
		hasDeadline, ctx.Value(reqCtxKey{}))
}

// waitDone waits up to 10 s for ctx to end.
func waitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not end", what)
	}
}

// TestH1ReqCtxMatchesWithCancel: the loop's request context behaves as
// context.WithCancel's on the same parent, before and after its cancellation, with Done
// asked for first or not, and so do the contexts made from it; those register with it
// (no goroutine waits for it) and unregister when they end first.
func TestH1ReqCtxMatchesWithCancel(t *testing.T) {
	for _, doneFirst := range []bool{false, true} {
		var obs [2][]string
		for i, p := range newReqCtxPairs() {
			if doneFirst {
				p.ctx.Done()
			}
			child, cancelChild := context.WithCancel(p.ctx)
			timed, cancelTimed := context.WithTimeout(p.ctx, time.Hour)
			early, cancelEarly := context.WithCancel(p.ctx)
			ran := make(chan struct{})
			stopped := make(chan bool, 1)
			context.AfterFunc(p.ctx, func() { close(ran) })
			stopNever := context.AfterFunc(p.ctx, func() { t.Error("a stopped AfterFunc ran") })
			if p.own != nil && p.own.Registered() != 5 {
				t.Errorf("%d functions registered with h1ReqCtx, want 5 (no goroutine per child)", p.own.Registered())
			}
			stopped <- stopNever()
			cancelEarly()
			if p.own != nil && p.own.Registered() != 3 {
				t.Errorf("%d functions registered after a child and a stop, want 3", p.own.Registered())
			}
			obs[i] = append(obs[i], observe(p.ctx), observe(child), observe(early), fmt.Sprint(<-stopped))
			p.cancel()
			waitDone(t, child, "the child")
			waitDone(t, timed, "the child with a timeout")
			select {
			case <-ran:
			case <-time.After(10 * time.Second):
				t.Fatal("AfterFunc did not run")
			}
			p.cancel() // again: nothing changes
			obs[i] = append(obs[i], observe(p.ctx), observe(child), observe(timed))
			late, cancelLate := context.WithCancel(p.ctx)
			obs[i] = append(obs[i], observe(late))
			if !errors.Is(late.Err(), context.Canceled) {
				t.Errorf("a context made after the cancellation: %v", late.Err())
			}
			cancelChild()
			cancelTimed()
			cancelLate()
		}
		if fmt.Sprint(obs[0]) != fmt.Sprint(obs[1]) {
			t.Errorf("done first %v:\nWithCancel %q\nh1ReqCtx   %q", doneFirst, obs[0], obs[1])
		}
	}
}

// BenchmarkH1ReqCtx: a request's h1Response and context made, the context asked for its
// Done channel and cancelled, with context.WithCancel ("withcancel", as before) and with
// the h1ReqCtx the h1Response holds ("h1reqctx").
func BenchmarkH1ReqCtx(b *testing.B) {
	base := context.WithoutCancel(context.WithValue(context.Background(), reqCtxKey{}, "v"))
	b.Run("withcancel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchResp = &h1Response{}
			ctx, cancel := context.WithCancel(base)
			ctx.Done()
			cancel()
		}
	})
	b.Run("h1reqctx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := &h1Response{}
			benchResp = w
			w.ctx.Context = base
			w.ctx.Done()
			w.ctx.cancel()
		}
	})
}

var benchResp *h1Response

// TestH1HookWithoutDone: the loop's hook goes to the request's own context and to the
// proxy's InfoContext around it, without making its Done channel (nor does the proxy's
// reqcancel.Ends); a context with a cancellation of its own, or another request's, gets
// none; a context.WithValue gets it through the Done channels.
func TestH1HookWithoutDone(t *testing.T) {
	c := &h1Conn{}
	w, other := &h1Response{}, &h1Response{}
	w.ctx.Context, other.ctx.Context = context.Background(), context.Background()
	c.cur.Store(w)
	var ic proxy.InfoContext
	ic.Init(&w.ctx, &proxy.Info{})
	if c.Hook(&w.ctx) != &w.hook || c.Hook(&ic) != &w.hook {
		t.Fatal("the request's context, or the InfoContext around it, got no hook")
	}
	if !reqcancel.Ends(&ic) {
		t.Fatal("reqcancel.Ends: false for a request's context")
	}
	if w.ctx.DoneMade() {
		t.Fatal("a Done channel was made")
	}
	if c.Hook(&other.ctx) != nil {
		t.Fatal("another request's context got the hook")
	}
	derived, cancel := context.WithCancel(&ic)
	defer cancel()
	if c.Hook(derived) != nil {
		t.Fatal("a context with its own cancellation got the hook")
	}
	if c.Hook(context.WithValue(&ic, reqCtxKey{}, 1)) != &w.hook {
		t.Fatal("a context.WithValue of the request's got no hook")
	}
	c.cur.Store(nil)
	if c.Hook(&w.ctx) != nil {
		t.Fatal("a request not current got the hook")
	}
}
