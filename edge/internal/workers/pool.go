package workers

import "sync"

// Pool runs jobs of type J on reused goroutines: Run(j) on an idle worker, or on a new
// one. At most MaxIdle workers wait for a job; a worker that finds the idle list full
// after a job exits, so a burst leaves at most MaxIdle parked goroutines behind. The zero
// value of the unexported fields is ready; a Pool must not be copied after first use.
type Pool[J any] struct {
	// Run runs one job on a worker's goroutine.
	Run func(J)
	// MaxIdle bounds the idle workers.
	MaxIdle int

	mu      sync.Mutex
	idle    []chan J // LIFO: the most recently idle worker (warmest stack) last
	started int      // workers started
}

// Start runs j on an idle worker, or on a new one, and returns without waiting for it.
func (p *Pool[J]) Start(j J) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		ch <- j // buffered: never blocks, the worker is waiting or about to
		return
	}
	p.started++
	p.mu.Unlock()
	go p.work(j)
}

// work runs j, then waits in the idle list for the next job, or exits when it is full.
func (p *Pool[J]) work(j J) {
	var ch chan J
	for {
		p.Run(j)
		var zero J
		j = zero // do not retain the last job (a request) while idle
		if ch == nil {
			ch = make(chan J, 1)
		}
		if !p.park(ch) {
			return
		}
		j = <-ch
	}
}

// park puts ch in the idle list and reports whether there was room.
func (p *Pool[J]) park(ch chan J) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.MaxIdle {
		return false
	}
	p.idle = append(p.idle, ch)
	return true
}

// Idle returns the number of idle workers.
func (p *Pool[J]) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Started returns the number of workers the pool has started.
func (p *Pool[J]) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}
