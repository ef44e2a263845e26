// Package workers runs jobs on reused goroutines.
//
// A new goroutine starts with the smallest stack; a deep call path (a proxied request)
// grows it two or three times, and that growth (runtime.newstack, copystack) costs a
// visible share of the CPU per request. A Pool hands each job to an idle goroutine whose
// stack has grown already, or starts one when none is idle. HTTP/2's handlers
// (internal/h2srv) and HTTP/3's (internal/h3srv) run on pools of their own job
// type.
//
// What a goroutine carries is not reset between jobs: pprof labels are those of the
// goroutine that started the worker, plus any a job set and did not undo. A job that
// panics without recovering crashes the process, as on a goroutine of its own: jobs
// recover their own panics. A job that calls runtime.Goexit ends its worker (the worker is
// not in the idle list while it runs, so only the goroutine is lost).
package workers
