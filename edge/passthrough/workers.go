package passthrough

import "time"

// workerIdle is how long a worker goroutine waits for its next task before it exits.
const workerIdle = 10 * time.Second

// workers hands tasks to goroutines that outlive them: a passthrough connection's
// goroutines dial and splice, which grows their stacks to several KiB, and a new
// goroutine starts small and grows again (stack copies) each time. A worker that
// finished a task waits for the next one with its stack already grown; when none is
// waiting, Go starts a new one. Idle workers exit after workerIdle.
var workers = make(chan func())

// Go runs f in a goroutine: an idle worker's if one is waiting, else a new one.
func Go(f func()) {
	select {
	case workers <- f:
	default:
		go work(f)
	}
}

// work runs f, then the tasks given to it until it has been idle for workerIdle.
func work(f func()) {
	var idle *time.Timer
	for {
		f()
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case f = <-workers:
		case <-idle.C:
			return
		}
	}
}
