//go:build !linux

package passthrough

import (
	"net"
	"time"
)

// Loop is a connection handed to an event loop by Start (none here).
type Loop struct{}

// Kill ends the connection.
func (Loop) Kill() {}

// Start hands the connection to an event loop where there is one (Linux); here there is
// none, ok is false and the caller uses Pipe.
func Start(client, upstream net.Conn, idle time.Duration, count func(up bool, n int64), done func(error)) (h Loop, ok bool) {
	return Loop{}, false
}
