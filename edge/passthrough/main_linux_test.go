package passthrough

import (
	"os"
	"testing"
)

// testLoops is the number of event loops in this package's tests, whatever GOMAXPROCS:
// several, so that listeners move from loop to loop (acceptor_move_linux_test.go).
const testLoops = 4

func TestMain(m *testing.M) {
	loopCount = testLoops // before any loop is made
	os.Exit(m.Run())
}
