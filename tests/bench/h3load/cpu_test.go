package main

import (
	"os"
	"testing"
	"time"
)

// TestParseStatCPU: utime and stime are counted after the command name, which may hold
// spaces and parentheses.
func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want time.Duration
	}{
		{"1234 (edgectl) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 8 0", 287 * clockTick},
		{"99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 5 0 0 20 0 1 0", 12 * clockTick},
	} {
		got, err := parseStatCPU(tc.stat)
		if err != nil || got != tc.want {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v", tc.stat, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

// TestProcCPUSelf reads this process's own /proc stat line.
func TestProcCPUSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}
