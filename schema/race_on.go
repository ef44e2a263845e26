//go:build race

package schema

// raceEnabled: the race detector's runtime cannot live under an address-space limit, so a
// race-enabled worker (tests only) goes without one.
const raceEnabled = true
