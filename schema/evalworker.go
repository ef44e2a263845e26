package schema

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"

	"cuelang.org/go/cue"
)

// Recycling: a worker drops its CUE context (and the memory CUE keeps in it) after this many
// files, or sooner when its live heap passes a quarter of its memory limit.
const evalRecycleFiles = 500

// evalWorkerGCPercent is a worker's GOGC (measured on a cold 10,000-site validation: 100
// made it 25-30 % slower than evaluating in-process; at 400 it is on par).
const evalWorkerGCPercent = 400

// RunEvalWorkerIfRequested turns the process into a CUE evaluation worker when a Loader with
// Isolation enabled started it, and then exits; otherwise it returns at once. Call it first
// thing in main (and in TestMain of tests that load with isolation) of every program whose
// executable serves as Isolation.Executable.
func RunEvalWorkerIfRequested() {
	v, ok := os.LookupEnv(evalWorkerEnv)
	if !ok {
		return
	}
	os.Unsetenv(evalWorkerEnv)
	limit, err := strconv.ParseInt(v, 10, 64)
	if err != nil || limit <= 0 {
		fmt.Fprintf(os.Stderr, "edge evaluation worker: %s=%q: want a memory limit in bytes\n", evalWorkerEnv, v)
		os.Exit(2)
	}
	if err := limitMemory(limit); err != nil {
		fmt.Fprintf(os.Stderr, "edge evaluation worker: %v\n", err)
		os.Exit(2)
	}
	// The GC works hard before the address-space wall, so a file that is big but
	// legitimate fits; one that keeps growing meets the wall and the parent reports it.
	debug.SetMemoryLimit(limit / 4 * 3)
	// A worker's live heap is one file's evaluation, so at the default GOGC it collects
	// every few files: a quarter of a cold 10,000-site load went to the GC. The memory limit
	// above bounds what the higher setting may cost.
	debug.SetGCPercent(evalWorkerGCPercent)
	if err := serveEvals(os.Stdin, os.Stdout, limit); err != nil {
		fmt.Fprintf(os.Stderr, "edge evaluation worker: %v\n", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// serveEvals answers evalRequests read from in, in order, until in ends.
func serveEvals(in io.Reader, out io.Writer, limit int64) error {
	dec := json.NewDecoder(bufio.NewReaderSize(in, 64<<10))
	bw := bufio.NewWriterSize(out, 64<<10)
	if err := json.NewEncoder(bw).Encode(evalResponse{Hello: evalHello}); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	var ev *evaluator
	files := 0
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for {
		var req evalRequest
		if err := dec.Decode(&req); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading a request: %w", err)
		}
		if ev == nil {
			e, err := newEvaluator()
			if err != nil {
				return err
			}
			ev, files = e, 0
		}
		resp := evalResponse{Seq: req.Seq}
		switch req.Kind {
		case siteFile:
			resp.Site, resp.Diags = safeEvalSite(ev, req.Name, req.File, req.Src)
		case repoFile:
			resp.Repo, resp.Diags = safeEvalRepo(ev, req.File, req.Src)
		case rawFile:
			if err := ev.ctx.CompileBytes(req.Src, cue.Filename(req.File)).Validate(cue.Concrete(true)); err != nil {
				resp.Diags = []Diagnostic{{File: req.File, Line: 1, Col: 1, Severity: SeverityError, Message: err.Error()}}
			}
		default:
			return fmt.Errorf("request %d: unknown kind %d", req.Seq, req.Kind)
		}
		if err := writeResponse(bw, &resp, req.File); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		files++
		metrics.Read(sample)
		if files >= evalRecycleFiles || int64(sample[0].Value.Uint64()) > limit/4 {
			ev = nil
		}
	}
}

// maxResponse bounds one answer, so that a file whose values are huge (a host name of
// 100 MiB, quoted in its diagnostic) cannot make the parent decode them.
const maxResponse = 32 << 20

// writeResponse writes resp as one JSON line, or in its place a diagnostic if it is larger
// than maxResponse.
func writeResponse(w io.Writer, resp *evalResponse, file string) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	if len(b) > maxResponse {
		b, err = json.Marshal(evalResponse{Seq: resp.Seq, Diags: []Diagnostic{{File: file, Line: 1, Col: 1, Severity: SeverityError,
			Message: fmt.Sprintf("evaluation produced %s of results (at most %s); a declaration is data: "+
				"remove references and interpolations that multiply values", FormatBytes(int64(len(b))), FormatBytes(maxResponse))}}})
		if err != nil {
			return err
		}
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
