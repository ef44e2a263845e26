//go:build race

package gitsource

// raceEnabled: under the race detector sync.Pool drops what it is given at random, so
// go-git allocates a zlib reader (about 18 KiB) for most objects it inflates, and
// allocation counts do not hold.
const raceEnabled = true
