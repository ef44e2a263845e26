package schema

import (
	"fmt"
	"time"
)

// Defaults of Isolation. The largest legitimate files are 1 MiB: one of 13,000 routes peaks
// at 303 MiB resident in its worker, one of 43,000 hosts at 182 MiB, and they take 13 s and
// 17 s on a heavily loaded two-core machine. 10,000 ordinary sites cost a worker little: it
// recycles its CUE context. See README.md, "Evaluation limits".
const (
	DefaultEvalMemoryLimit = 1 << 30 // 1 GiB per evaluation process
	DefaultEvalFileTimeout = 60 * time.Second
)

// Isolation configures where a Loader evaluates CUE. The zero value evaluates in the
// calling process, as a library would; edgectl turns it on so that a file whose evaluation
// blows up costs a child process, never the agent serving traffic.
type Isolation struct {
	// Enabled evaluates every changed file in a child process: the executable re-run with
	// an environment variable that makes RunEvalWorkerIfRequested, called first thing in its
	// main, serve evaluations instead. A file that makes its process exceed MemoryLimit or
	// FileTimeout is an error diagnostic at the file's 1:1, cached like any other result.
	Enabled bool
	// Executable is the program to run as the worker. Empty means os.Executable(): the
	// running program, whose main must call RunEvalWorkerIfRequested.
	Executable string
	// MemoryLimit is the memory each evaluation process may take, in bytes: on Linux its
	// address space (RLIMIT_AS) may grow this much past what the idle process reserves, and
	// its Go heap is held to three quarters of it. Zero means DefaultEvalMemoryLimit.
	MemoryLimit int64
	// FileTimeout is how long one file's evaluation may take before its process is killed.
	// Zero means DefaultEvalFileTimeout.
	FileTimeout time.Duration
}

func (o Isolation) withDefaults() Isolation {
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = DefaultEvalMemoryLimit
	}
	if o.FileTimeout <= 0 {
		o.FileTimeout = DefaultEvalFileTimeout
	}
	return o
}

// evalWorkerEnv names the environment variable that turns a process into an evaluation
// worker; its value is the memory limit in bytes.
const evalWorkerEnv = "EDGE_EVAL_WORKER"

// evalHello is the first line a worker writes: proof that the executable is one.
const evalHello = "edge-eval-worker/1"

// rawFile is a request kind for tests of the limits: the file is evaluated as plain CUE,
// without any of the checks a site or repo file gets first.
const rawFile fileKind = 100

// evalRequest asks a worker to evaluate one file.
type evalRequest struct {
	Seq  uint64
	Kind fileKind
	Name string // the site's name (site files)
	File string
	Src  []byte
}

// evalResponse answers the evalRequest with the same Seq. The protocol is JSON, not gob:
// gob drops zero values behind pointers (an explicit `include_subdomains: false` would
// come back as unset).
type evalResponse struct {
	Hello string `json:",omitempty"`
	Seq   uint64
	Site  *siteDecl
	Repo  *repoDecl
	Diags []Diagnostic
}

// evalOutcome is one file's evaluation as the loader sees it.
type evalOutcome struct {
	site  *siteDecl
	repo  *repoDecl
	diags []Diagnostic
	// transient marks an outcome that is not the file's doing (the load was cancelled, no
	// worker could start): it is not cached.
	transient bool
}

// FormatBytes formats n as "512 MiB" (whole MiB, or bytes below one MiB).
func FormatBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

func memoryDiag(file string, limit int64) Diagnostic {
	return Diagnostic{File: file, Line: 1, Col: 1, Severity: SeverityError, Message: fmt.Sprintf(
		"evaluation exceeded its memory limit (%s); a declaration is data: remove references, "+
			"interpolations and disjunctions that multiply (or raise --eval-memory if the file is legitimately huge)", FormatBytes(limit))}
}

func timeoutDiag(file string, d time.Duration) Diagnostic {
	return Diagnostic{File: file, Line: 1, Col: 1, Severity: SeverityError, Message: fmt.Sprintf(
		"evaluation took longer than %s; a declaration is data: remove references, "+
			"interpolations and disjunctions that multiply (or raise --eval-timeout if the file is legitimately huge)", d)}
}
