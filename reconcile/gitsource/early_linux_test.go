package gitsource

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// threadNices returns the nice value of each thread of the process, by thread ID.
func threadNices(t *testing.T) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
		out[e.Name()] = f[16] // field 19 of stat: nice
	}
	return out
}

// TestEarlyThreadsKeepPriority: threads the runtime starts while a goroutine runs at the
// early scan's priority (lowerPriority) do not inherit it: only the scan's own thread runs
// at earlyNice. (Goroutines blocked in system calls make the runtime start threads from
// the lowered one.)
func TestEarlyThreadsKeepPriority(t *testing.T) {
	base, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	if 20-base >= earlyNice {
		t.Skipf("the process already runs at nice %d", 20-base)
	}
	before := threadNices(t) // (an earlier scan's thread may be parked for good at earlyNice)
	tid := make(chan string)
	release := make(chan struct{})
	var blocked sync.WaitGroup
	go func() {
		lowerPriority()
		for range 16 {
			blocked.Add(1)
			go func() {
				defer blocked.Done()
				ts := syscall.Timespec{Nsec: 50e6}
				_ = syscall.Nanosleep(&ts, nil) // a blocking call: its P goes to another thread
			}()
			runtime.Gosched()
		}
		tid <- strconv.Itoa(syscall.Gettid())
		<-release // ends locked: the thread ends (or is parked for good)
	}()
	lowered := <-tid
	blocked.Wait()
	for id, nice := range threadNices(t) {
		if id != lowered && nice == strconv.Itoa(earlyNice) && before[id] != nice {
			t.Errorf("thread %s runs at nice %s, as the early scan's thread %s does", id, nice, lowered)
		}
	}
	close(release)
}
