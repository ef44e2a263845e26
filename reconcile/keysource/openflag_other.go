//go:build !unix

package keysource

import "os"

// keyOpenFlag opens key files (see openflag_unix.go).
const keyOpenFlag = os.O_RDONLY
