package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgectl/edge/schema"
)

// evalFlags are the limits of config evaluation, which runs in child processes (see
// schema.Isolation): --eval-memory and --eval-timeout.
type evalFlags struct {
	memory  bytesFlag
	timeout time.Duration
}

// add registers the flags on f; env names the agent's environment fallbacks ("" for none).
func (e *evalFlags) add(f *flag.FlagSet, memEnv, timeoutEnv string) {
	e.memory = bytesFlag(schema.DefaultEvalMemoryLimit)
	f.Var(&e.memory, "eval-memory", "memory (address space) each config evaluation process may use, e.g. 512MiB or 2GiB; a file that needs more is refused"+envSuffix(memEnv))
	f.DurationVar(&e.timeout, "eval-timeout", schema.DefaultEvalFileTimeout, "how long one config file's evaluation may take; a file that takes longer is refused"+envSuffix(timeoutEnv))
}

func envSuffix(env string) string {
	if env == "" {
		return ""
	}
	return " [" + env + "]"
}

// isolation returns the schema.Isolation the flags ask for.
func (e *evalFlags) isolation() schema.Isolation {
	return schema.Isolation{Enabled: true, MemoryLimit: int64(e.memory), FileTimeout: e.timeout}
}

// bytesFlag is a size in bytes written as "1073741824", "512MiB", "2GiB" or "800MB".
type bytesFlag int64

func (b *bytesFlag) String() string { return schema.FormatBytes(int64(*b)) }

func (b *bytesFlag) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b = bytesFlag(n)
	return nil
}

var byteUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}

// parseBytes parses a size; it must be at least 64 MiB, below which no evaluation
// process starts.
func parseBytes(s string) (int64, error) { return parseSize(s, minEvalMemory) }

// parseSize parses a size such as 512MiB of at least least bytes.
func parseSize(s string, least int64) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("%q: want a size such as 512MiB or 2GiB", s)
	}
	if n*mult < least {
		return 0, fmt.Errorf("%q: want at least %s", s, schema.FormatBytes(least))
	}
	return n * mult, nil
}

// minEvalMemory is the least --eval-memory: a Go process needs some address space to start.
const minEvalMemory = 64 << 20
