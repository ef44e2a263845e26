package schema

import (
	"context"
	"errors"
)

// evalService evaluates files for one load, in lanes: lane i is used by one loader
// goroutine at a time. done is called exactly once per eval, on any goroutine, before close
// returns.
type evalService interface {
	eval(lane int, req evalRequest, done func(evalOutcome))
	close()
}

// newEvalService returns the service of one load: child processes when isolation is on,
// else evaluators in this process.
func (l *Loader) newEvalService(ctx context.Context) evalService {
	if l.opts.Isolation.Enabled {
		return newProcPool(ctx, l.opts.Isolation, l.workers())
	}
	return &inProcess{ctx: ctx, lanes: make([]*evaluator, l.workers())}
}

// evalSync evaluates req on lane and waits for the outcome.
func evalSync(s evalService, lane int, req evalRequest) evalOutcome {
	ch := make(chan evalOutcome, 1)
	s.eval(lane, req, func(o evalOutcome) { ch <- o })
	return <-ch
}

// inProcess evaluates in the calling goroutine, each lane with its own CUE context, dropped
// with the load so CUE's memory is released.
type inProcess struct {
	ctx   context.Context
	lanes []*evaluator
}

func (p *inProcess) eval(lane int, req evalRequest, done func(evalOutcome)) {
	if err := p.ctx.Err(); err != nil {
		done(cancelledOutcome(req.File, err))
		return
	}
	ev := p.lanes[lane]
	if ev == nil {
		e, err := newEvaluator()
		if err != nil {
			done(evalOutcome{diags: []Diagnostic{{File: req.File, Line: 1, Col: 1, Severity: SeverityError, Message: err.Error()}}, transient: true})
			return
		}
		ev, p.lanes[lane] = e, e
	}
	var o evalOutcome
	if req.Kind == repoFile {
		o.repo, o.diags = safeEvalRepo(ev, req.File, req.Src)
	} else {
		o.site, o.diags = safeEvalSite(ev, req.Name, req.File, req.Src)
	}
	done(o)
}

func (p *inProcess) close() { clear(p.lanes) }

// errLoadCancelled is wrapped by the outcome of a file whose load was cancelled.
var errLoadCancelled = errors.New("schema: load cancelled")

func cancelledOutcome(file string, err error) evalOutcome {
	if err == nil {
		err = context.Canceled
	}
	return evalOutcome{transient: true, diags: []Diagnostic{{File: file, Line: 1, Col: 1, Severity: SeverityError,
		Message: errLoadCancelled.Error() + ": " + err.Error()}}}
}
