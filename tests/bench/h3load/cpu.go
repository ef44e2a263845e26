package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procCPU returns the CPU time (user + system) process pid has used, from /proc/pid/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime + stime of a /proc/<pid>/stat line. The command name (field 2)
// is in parentheses and may hold spaces, so the fields are counted after its last ')':
// utime and stime are fields 14 and 15, the 12th and 13th after it.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("utime/stime %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// selfCPU returns the CPU time (user + system) this process has used, to the microsecond.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuClock reads the CPU time of this process and, when pid > 0, of the server.
type cpuClock struct {
	pid                  int
	self, server         time.Duration
	selfUsed, serverUsed time.Duration
}

// start takes the readings the window starts from.
func (c *cpuClock) start() error {
	c.self = selfCPU()
	if c.pid <= 0 {
		return nil
	}
	var err error
	c.server, err = procCPU(c.pid)
	return err
}

// stop takes the readings the window ends with and keeps what was used in between.
func (c *cpuClock) stop() error {
	c.selfUsed = selfCPU() - c.self
	if c.pid <= 0 {
		return nil
	}
	s, err := procCPU(c.pid)
	c.serverUsed = s - c.server
	return err
}

// perRequest formats the CPU used per request in µs ("-" without requests).
func perRequest(used time.Duration, n int64) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(used.Nanoseconds())/1e3/float64(n))
}
