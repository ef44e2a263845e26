//go:build !linux

package gitsource

// lowerPriority does nothing here: only Linux sets the priority of one thread.
func lowerPriority() {}
