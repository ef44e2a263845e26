package main

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	// minGitMaxRefBytes is the least --git-max-ref-bytes: room for a small repository's
	// advertisement and the SSH handshake.
	minGitMaxRefBytes = 64 << 10
	// minGitMaxRefs is the least --git-max-refs.
	minGitMaxRefs = 100
)

// parseCount parses a positive count of at least least (and at most 1<<30).
func parseCount(s string, least int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 || n > 1<<30 {
		return 0, fmt.Errorf("%q: want a count such as 100000", s)
	}
	if n < least {
		return 0, fmt.Errorf("%q: want at least %d", s, least)
	}
	return n, nil
}
