package passthrough

import (
	"sync/atomic"
	"syscall"
)

// acceptMove is how many connections a loop accepts from a listener before it moves the
// listener on to the next loop: the loops take turns, each accepting (and holding, Start
// registering them with it) acceptMove connections, for two epoll_ctl per turn. Small
// enough that the turns even out over a few hundred connections (a loop's connections
// are its core's copying work), large enough that the moves cost next to nothing per
// connection.
const acceptMove = 16

// moveMinLoops is the fewest loops with which the listener moves at all. With fewer (two
// on a 2-core machine) the one accepting loop keeps it: there the moves cost 4-6 % more CPU
// per connection (two loops busy at once, fewer events per wake-up) and spread the copying
// over too few cores to pay for it. Atomic: tests change it while loops run.
var moveMinLoops atomic.Int32

func init() { moveMinLoops.Store(4) }

// moveAcceptor hands the listener of l.accs[i] on to the next loop (nextLoop), which
// accepts from it next; false when it stays with l: closed meanwhile (Close's op is on
// its way to l), no other loop can be had now, or the ADD failed (tried again after
// acceptMove more connections). The next loop's ADD comes before l's DEL and reports a
// readiness pending at that moment, so no connection waits unseen: one arriving between
// the two may wake l too, whose event finds no listener and is dropped (acceptEvent).
// Under a.mu: Close, Arm and a yield see either loop, never none or both.
func (l *loop) moveAcceptor(i int) bool {
	a := l.accs[i].a
	l.accs[i].n = 0
	if len(loopSet.slots) < int(moveMinLoops.Load()) {
		return false
	}
	next := nextLoop(l.index)
	if next == nil || next == l {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.l != l || !next.addAcceptor(a) {
		return false
	}
	a.l = next
	rawEpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, a.fd, &syscall.EpollEvent{})
	l.accs[i] = accSlot{}
	if h := loopHooks.Load(); h != nil && h.moved != nil {
		h.moved(l, next)
	}
	return true
}
