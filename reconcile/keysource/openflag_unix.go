//go:build unix

package keysource

import (
	"os"
	"syscall"
)

// keyOpenFlag opens key files. O_NONBLOCK spares each open the descriptor mode changes
// os.OpenFile makes for a descriptor it opened blocking (two fcntl calls to make it
// non-blocking and, a regular file being refused by the poller, two to undo it): 10,000
// keys read at a start made 40,000 such calls, 5 % of a warm start's CPU. A regular file
// reads the same either way. A FIFO put where a key belongs opens at once instead of
// waiting for a writer, and is refused as not a regular file.
const keyOpenFlag = os.O_RDONLY | syscall.O_NONBLOCK
