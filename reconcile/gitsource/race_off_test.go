//go:build !race

package gitsource

const raceEnabled = false
