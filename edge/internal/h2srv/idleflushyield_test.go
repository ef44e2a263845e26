package h2srv

import "testing"

// countFlusher is an IdleFlusher that counts its FlushHeld calls.
type countFlusher struct{ held, flushed int }

func (f *countFlusher) HoldWrites() { f.held++ }
func (f *countFlusher) FlushHeld()  { f.flushed++ }

// TestFlushIdleYieldsOnlyForRunningHandlers: the held flush yields (for responses that
// may finish meanwhile) only while a handler of the connection runs or waits to start;
// with none it flushes at once, without waking another thread for nothing. (Nothing
// arrives during these yields, so one is made: a yield that brings no message ends them.)
func TestFlushIdleYieldsOnlyForRunningHandlers(t *testing.T) {
	yields := 0
	defer func(y func()) { idleYield = y }(idleYield)
	idleYield = func() { yields++ }
	for _, tc := range []struct {
		name       string
		handlers   uint32
		unstarted  int
		wantYields int
	}{
		{"no handler", 0, 0, 0},
		{"a handler runs", 1, 0, 1},
		{"a handler waits to start", 0, 1, 1},
	} {
		yields = 0
		f := &countFlusher{}
		sc := &serverConn{idleFlush: f, curHandlers: tc.handlers, unstartedHandlers: make([]unstartedHandler, tc.unstarted)}
		sc.holdWrites()
		sc.flushIdle()
		if yields != tc.wantYields || f.flushed != 1 || sc.writesHeld {
			t.Errorf("%s: %d yields, %d flushes, held %v; want %d yields, 1 flush, not held",
				tc.name, yields, f.flushed, sc.writesHeld, tc.wantYields)
		}
	}
}
