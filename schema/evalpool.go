package schema

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// Test hooks: called with a worker's pid when it has started, and after each answer it gives.
var testHookSpawned, testHookAnswered func(pid int)

// evalWindow is how many requests a lane pipelines to its worker: the worker reads the next
// file while the parent handles the previous answer.
const evalWindow = 4

// procPool evaluates in child processes, one per lane, started when a lane first needs one.
// Answers come in request order, so when a worker dies the culprit is the oldest request
// without an answer: it gets a memory or deadline diagnostic (or, for an unexplained death,
// one more try), and a fresh worker takes the remaining requests.
type procPool struct {
	ctx   context.Context
	opts  Isolation
	lanes []*lane
	wg    sync.WaitGroup // the receivers of every worker started
	stop  func() bool    // unregisters the cancellation hook
	once  sync.Once      // close
}

func newProcPool(ctx context.Context, opts Isolation, workers int) *procPool {
	p := &procPool{ctx: ctx, opts: opts.withDefaults()}
	for i := 0; i < workers; i++ {
		p.lanes = append(p.lanes, &lane{p: p, sem: make(chan struct{}, evalWindow)})
	}
	p.stop = context.AfterFunc(ctx, p.killAll)
	return p
}

// lane is one loader goroutine's worker and its requests in flight.
type lane struct {
	p   *procPool
	sem chan struct{} // one token per request in flight

	mu      sync.Mutex
	w       *worker
	pending []*pendingReq
	seq     uint64
}

type pendingReq struct {
	req    evalRequest
	done   func(evalOutcome)
	deaths int // unexplained worker deaths while this was the oldest request
}

// worker is one child process.
type worker struct {
	cmd      *exec.Cmd
	in       chan *evalRequest
	stderr   *headBuffer
	timer    *time.Timer
	timedOut uint64 // the Seq it was killed for at its deadline; 0: none
	ready    bool   // it said hello: deadlines count from then
	closed   bool   // in is closed
}

func (p *procPool) eval(i int, req evalRequest, done func(evalOutcome)) {
	ln := p.lanes[i]
	select {
	case ln.sem <- struct{}{}:
	case <-p.ctx.Done():
		done(cancelledOutcome(req.File, p.ctx.Err()))
		return
	}
	pr := &pendingReq{req: req, done: func(o evalOutcome) { <-ln.sem; done(o) }}
	ln.mu.Lock()
	if err := p.ctx.Err(); err != nil {
		ln.mu.Unlock()
		pr.done(cancelledOutcome(req.File, err))
		return
	}
	ln.seq++
	pr.req.Seq = ln.seq
	ln.pending = append(ln.pending, pr)
	var failed []finished
	if ln.w == nil {
		failed = ln.startLocked()
	} else {
		ln.w.in <- &pr.req
		if len(ln.pending) == 1 {
			ln.armLocked()
		}
	}
	ln.mu.Unlock()
	finishAll(failed)
}

type finished struct {
	pr *pendingReq
	o  evalOutcome
}

func finishAll(fs []finished) {
	for _, f := range fs {
		f.pr.done(f.o)
	}
}

// startLocked starts a worker for the lane's pending requests and sends them. If it cannot,
// they fail (transiently: not the files' fault) and are returned to finish.
func (ln *lane) startLocked() []finished {
	w, dec, err := ln.p.spawn()
	if err != nil {
		return ln.failAllLocked(false, fmt.Sprintf("could not start the evaluation process: %v", err))
	}
	ln.w = w
	if ln.p.ctx.Err() != nil {
		w.cmd.Process.Kill() // cancelled while it started: its receiver fails the requests
	}
	for _, pr := range ln.pending {
		w.in <- &pr.req
	}
	ln.armLocked()
	ln.p.wg.Add(1)
	go ln.receive(w, dec)
	return nil
}

// failAllLocked takes every pending request off the lane with an error diagnostic.
func (ln *lane) failAllLocked(cancelled bool, msg string) []finished {
	var fs []finished
	for _, pr := range ln.pending {
		o := evalOutcome{transient: true, diags: []Diagnostic{{File: pr.req.File, Line: 1, Col: 1, Severity: SeverityError, Message: msg}}}
		if cancelled {
			o = cancelledOutcome(pr.req.File, ln.p.ctx.Err())
		}
		fs = append(fs, finished{pr, o})
	}
	ln.pending = nil
	return fs
}

// workerStartTimeout bounds a worker's start (exec, runtime, hello) when the file deadline
// is shorter: a loaded machine may take seconds to start a process.
const workerStartTimeout = 30 * time.Second

// armLocked starts the deadline of the lane's oldest request, or, before the worker is
// ready, of its start.
func (ln *lane) armLocked() {
	w := ln.w
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if len(ln.pending) == 0 {
		return
	}
	seq, armedReady := ln.pending[0].req.Seq, w.ready
	d := ln.p.opts.FileTimeout
	if !armedReady {
		d = max(d, workerStartTimeout) // a short file deadline does not apply to the start
	}
	w.timer = time.AfterFunc(d, func() {
		ln.mu.Lock()
		defer ln.mu.Unlock()
		switch {
		case ln.w != w:
		case !armedReady: // a start deadline: a hello that just arrived re-armed a file's
			if !w.ready {
				w.cmd.Process.Kill() // it did not start in time
			}
		case len(ln.pending) > 0 && ln.pending[0].req.Seq == seq:
			w.timedOut = seq
			w.cmd.Process.Kill()
		}
	})
}

// spawn starts a worker process with its writer goroutine.
func (p *procPool) spawn() (*worker, *json.Decoder, error) {
	if _, ok := os.LookupEnv(evalWorkerEnv); ok {
		return nil, nil, errors.New("this process is itself an evaluation worker (its main does not call schema.RunEvalWorkerIfRequested first)")
	}
	exe := p.opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, nil, err
		}
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), evalWorkerEnv+"="+strconv.FormatInt(p.opts.MemoryLimit, 10), "GOTRACEBACK=none")
	cmd.SysProcAttr = workerSysProcAttr()
	w := &worker{cmd: cmd, in: make(chan *evalRequest, evalWindow), stderr: &headBuffer{max: 8 << 10}}
	cmd.Stderr = w.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := startProcess(cmd); err != nil {
		return nil, nil, err
	}
	if h := testHookSpawned; h != nil {
		h(cmd.Process.Pid)
	}
	go func() { // the writer: ends when in is closed or the worker stops reading
		bw := bufio.NewWriterSize(stdin, 64<<10)
		enc := json.NewEncoder(bw)
		for r := range w.in {
			if enc.Encode(r) != nil || bw.Flush() != nil {
				break
			}
		}
		stdin.Close()
		for range w.in { // drain until closed
		}
	}()
	return w, json.NewDecoder(bufio.NewReaderSize(stdout, 64<<10)), nil
}

// receive reads the worker's answers until it ends, then handles its death.
func (ln *lane) receive(w *worker, dec *json.Decoder) {
	defer ln.p.wg.Done()
	var hello evalResponse
	err := dec.Decode(&hello)
	started := err == nil && hello.Hello == evalHello
	if started {
		ln.mu.Lock()
		w.ready = true
		ln.armLocked() // the oldest request's deadline starts now
		ln.mu.Unlock()
	}
	for started {
		var resp evalResponse
		if err = dec.Decode(&resp); err != nil {
			break
		}
		ln.mu.Lock()
		if len(ln.pending) == 0 || ln.pending[0].req.Seq != resp.Seq {
			ln.mu.Unlock()
			w.cmd.Process.Kill()
			break
		}
		pr := ln.pending[0]
		ln.pending = ln.pending[1:]
		ln.armLocked()
		ln.mu.Unlock()
		pr.done(evalOutcome{site: resp.Site, repo: resp.Repo, diags: resp.Diags})
		if h := testHookAnswered; h != nil {
			h(w.cmd.Process.Pid)
		}
	}
	w.cmd.Process.Kill()
	waitErr := w.cmd.Wait()
	ln.died(w, started, waitErr)
}

// died handles the end of worker w: the oldest pending request is the culprit.
func (ln *lane) died(w *worker, started bool, waitErr error) {
	ln.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	if !w.closed {
		w.closed = true
		close(w.in)
	}
	if ln.w == w {
		ln.w = nil
	}
	var fs []finished
	switch {
	case len(ln.pending) == 0:
	case ln.p.ctx.Err() != nil:
		fs = ln.failAllLocked(true, "")
	case !started:
		fs = ln.failAllLocked(false, fmt.Sprintf("the evaluation process did not start (%v): %s; "+
			"its executable must call schema.RunEvalWorkerIfRequested first in main", waitErr, w.stderr.firstLine()))
	default:
		pr := ln.pending[0]
		if o, blamed := ln.blame(w, pr, waitErr); blamed {
			ln.pending = ln.pending[1:]
			fs = append(fs, finished{pr, o})
		}
		if len(ln.pending) > 0 {
			fs = append(fs, ln.startLocked()...)
		}
	}
	ln.mu.Unlock()
	finishAll(fs)
}

// blame decides whether pr, the oldest request of dead worker w, caused its death, and
// with which diagnostic. An unexplained death (another process's SIGKILL, the kernel's OOM
// killer) gets one more try on a fresh worker.
func (ln *lane) blame(w *worker, pr *pendingReq, waitErr error) (evalOutcome, bool) {
	file := pr.req.File
	switch {
	case w.timedOut == pr.req.Seq:
		return evalOutcome{diags: []Diagnostic{timeoutDiag(file, ln.p.opts.FileTimeout)}}, true
	case w.timedOut != 0:
		return evalOutcome{}, false // killed at another request's deadline, answered since
	case w.stderr.outOfMemory():
		return evalOutcome{diags: []Diagnostic{memoryDiag(file, ln.p.opts.MemoryLimit)}}, true
	}
	pr.deaths++
	if pr.deaths < 2 {
		return evalOutcome{}, false
	}
	msg := fmt.Sprintf("the evaluation process died twice while evaluating this file (%v)", waitErr)
	if l := w.stderr.firstLine(); l != "" {
		msg += ": " + l
	}
	return evalOutcome{diags: []Diagnostic{{File: file, Line: 1, Col: 1, Severity: SeverityError, Message: msg}}}, true
}

// killAll kills every worker: the load's context is done.
func (p *procPool) killAll() {
	for _, ln := range p.lanes {
		ln.mu.Lock()
		if ln.w != nil {
			ln.w.cmd.Process.Kill()
		}
		ln.mu.Unlock()
	}
}

// close waits for every request to be answered, then ends the workers and waits for them
// to exit. Calling it again does nothing.
func (p *procPool) close() { p.once.Do(p.closeOnce) }

func (p *procPool) closeOnce() {
	for _, ln := range p.lanes {
		for range evalWindow {
			ln.sem <- struct{}{} // every token back: nothing in flight
		}
	}
	p.stop()
	for _, ln := range p.lanes {
		ln.mu.Lock()
		if w := ln.w; w != nil && !w.closed {
			w.closed = true
			close(w.in) // the worker exits at the end of its stdin
		}
		ln.mu.Unlock()
	}
	p.wg.Wait()
}
